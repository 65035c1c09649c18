package tui

import (
	"cardtill/scanner"
	"cardtill/sync"
)

var textEN = Text{
	Lang:         "en",
	WeChatOnline: "WeChat online", WeChatOffline: "WeChat OFFLINE", WeChatUnknown: "WeChat not reached yet",
	OfflineSinceFmt: "since %s", SendingFmt: "sending %d",
	Scanner: "scanner", ScannerConnected: "connected", ScannerDisconnected: "UNPLUGGED", KeyboardOnly: "keyboard only",
	Queue: "queue", Conflicts: "conflicts", InDoubt: "checking", LastSync: "last sync", LastSyncShort: "synced", Never: "never", Syncing: "syncing…",
	JournalFullFmt: "journal %d%% full",
	KeyRefused:     "KEY REFUSED: ask HQ",
	ShiftFmt:       "shift #%d", NoShift: "no shift open", Cashier: "cashier",

	Consumed: "CONSUMED", Refused: "REFUSED", AcceptedOffline: "ACCEPTED OFFLINE",
	AcceptedOfflineHint: "will be checked with WeChat later — honour it",
	Duplicate:           "DUPLICATE READ", Checking: "CHECKING", CheckingHint: "answer lost — do not honour twice; checking with WeChat",
	Confirming: "Waiting for you to confirm", Cancelled: "CANCELLED",
	Conflict: "CONFLICT", Error: "ERROR",
	CodeLabel: "code", CustomerLabel: "customer", OfflineCountFmt: "offline this shift %d / %d",
	Ready: "Ready — scan a coupon", Working: "Checking with WeChat…", Prompt: "Scan or type a code ▸ ",

	Recent: "Recent", RecentEmpty: "nothing yet this session", ShiftCountsFmt: "%d ✔  %d ✖",
	QueueTitle: "Waiting for WeChat", QueueEmpty: "Nothing waits for WeChat.", ConflictsTitle: "Conflicts (accepted offline, then refused by WeChat)",

	HelpTitle: "Keys", HelpIntro: "A scan is always a scan: keys typed at scanner speed that end in Enter, or a code from the serial scanner, close any dialog unanswered and are served. Enter pressed on its own submits the line and, in the confirm dialog, consumes. Marks: ✔ redeemed · ✖ refused · ⏸ accepted offline · ? checking with WeChat · ! conflict (accepted offline, then refused) · – cancelled.",

	ConfirmTitle: "Consume this coupon?", ConfirmHint: "Enter (on its own) consume · Esc cancel · a scan cancels this one and is served",

	QuitTitle: "Quit cardtill?", QuitInFlight: "A code is still being checked with WeChat. Quitting stops the check and consumes nothing (scan it again later), unless the consume already went out: the journal settles that one.",
	QuitQueuedFmt: "%d code(s) wait for WeChat. They stay in the journal and are sent when cardtill runs again.",
	QuitAsk:       "y quit · n stay",

	ShiftOpenTitle: "Open a shift", ShiftOpenAsk: "Cashier name, then Enter (Esc cancels):",
	ShiftCloseTitle: "Close the shift", ShiftCloseAskFmt: "Close shift #%d of %s? y close · n keep open",
	ShiftOpenedFmt: "Shift #%d opened for %s", ShiftClosedFmt: "Shift #%d closed", ShiftsUnavailable: "Shifts are not available here",

	OutageOn: "Simulated WeChat outage ON", OutageOff: "Simulated WeChat outage OFF",
	DemoTitle: "Demo codes", DemoHint: "type one and press Enter",

	KeySubmit: "submit", KeyCancel: "back", KeyShift: "shift", KeyQueue: "queue",
	KeySync: "sync", KeyHelp: "help", KeyQuit: "quit", KeyOutage: "outage",
	ReportTitle: "Shift report", NoReport: "No shift report: no shift open", KeyReport: "report",
	MoreBelowFmt: "%d more ↓", MoreAboveFmt: "↑ %d above", ScrollEnd: "end", ScrollPosFmt: "lines %d–%d of %d", KeyScroll: "scroll",
	ShowingFmt: "the latest %d of %d", NoticesTitle: "Notices from the hub",
	QueriedTitle: "Consumed, confirmed by query", QueriedHint: "WeChat does not say which till used these: check none was honoured twice.",
	QueriedWord: "consumed · by query", UnseenFmt: "%d new", ConflictsSeen: "Conflicts marked seen", NewMark: "new", KeyAck: "seen",
	NoticeEvents: map[string]string{
		"card_sku_remind":     "Stock alarm",
		"update_member_card":  "Points / balance updated",
		"card_pass_check":     "Card approved",
		"card_not_pass_check": "Card not approved",
		"card_pay_order":      "Card coin order",
	},
	KeyLong: map[string]string{
		"PgUp/PgDn ↑/↓": "scroll the shift report and the queue (Home, End: top, bottom)",
		"F4":            "shift report (X report of the open shift)",
		"Enter":         "submit the code typed or scanned", "Esc": "back to the till / cancel",
		"F1": "this help", "Ctrl+C": "quit (asks first when codes wait for WeChat)",
		"F2": "open or close the shift", "F3": "queue and conflicts",
		"F6": "mark the conflicts seen (on the queue screen; kept in the journal)",
		"F5": "send waiting codes to WeChat now", "F8": "simulate a WeChat outage (demo only)",
		"y": "yes", "n": "no",
	},
	Yes: "yes", No: "no",

	UsedAtFmt: "at %s (%s)", ExpiredFmt: "Expired on %s", NotYetFmt: "Not valid until %s", OfflineLimitFmt: "Offline limit reached (%d of %d this shift) — ask a manager",

	Reasons: map[sync.Reason]string{
		sync.ReasonOK:                 "Consumed",
		sync.ReasonConfirmedByQuery:   "Consumed — confirmed by WeChat after the answer was lost",
		sync.ReasonAcceptedOffline:    "Accepted offline — will be checked later",
		sync.ReasonAlreadyUsed:        "Already used",
		sync.ReasonUsedHere:           "Already used at this till",
		sync.ReasonExpired:            "Expired",
		sync.ReasonNotYetValid:        "Not valid yet",
		sync.ReasonGifting:            "Being given to a friend — ask the customer to finish or cancel",
		sync.ReasonGiftTimeout:        "Gift timed out — ask the customer to reopen the card",
		sync.ReasonGifted:             "Given away to someone else",
		sync.ReasonDeleted:            "Deleted by the customer",
		sync.ReasonUnavailable:        "Not usable (disabled by the merchant)",
		sync.ReasonUnknownCode:        "Not a coupon of this store",
		sync.ReasonInvalidCode:        "Not a valid coupon code",
		sync.ReasonCardStatus:         "This card is not active — ask a manager",
		sync.ReasonMarked:             "Reserved by another till",
		sync.ReasonTimeLimit:          "Not usable at this time of day",
		sync.ReasonNotConsumable:      "WeChat says it cannot be used",
		sync.ReasonConfig:             "Till set-up problem — call a manager",
		sync.ReasonRejected:           "Refused by WeChat",
		sync.ReasonDuplicateRead:      "Same code just scanned — ignored",
		sync.ReasonInDoubt:            "Answer lost — being checked",
		sync.ReasonConflict:           "Accepted offline, then refused by WeChat",
		sync.ReasonOfflineRefused:     "WeChat offline — this till does not accept coupons offline",
		sync.ReasonOfflineShiftLimit:  "Offline limit reached — ask a manager",
		sync.ReasonOfflineTooLong:     "WeChat offline too long — no more offline acceptance",
		sync.ReasonOfflineCard:        "WeChat offline — this card is not accepted offline",
		sync.ReasonOfflineUnknownCode: "WeChat offline — unknown code not accepted offline",
		sync.ReasonOfflineKnownBad:    "Known to be unusable (from the store's feed)",
		sync.ReasonOfflineJournalFull: "WeChat offline — till storage full, no offline acceptance; call IT",
		sync.ReasonNoShift:            "No shift open — press F2 to open one",
		sync.ReasonCancelled:          "Cancelled by the cashier",
		sync.ReasonInterrupted:        "Till stopped before answering — nothing consumed, scan again",
	},
	Rejects: map[scanner.RejectKind]string{
		scanner.RejectTooLong:         "Unreadable scan (too long) — scan again",
		scanner.RejectNonPrintable:    "Unreadable scan — scan again",
		scanner.RejectIncomplete:      "Scan cut off — scan again",
		scanner.RejectEmpty:           "Nothing typed",
		scanner.RejectProductBarcode:  "That is a product barcode, not a coupon",
		scanner.RejectPaymentCode:     "That is a payment code — use the payment terminal",
		scanner.RejectLinkWithoutCode: "That link carries no coupon code",
		scanner.RejectMalformedCode:   "That link's coupon code cannot be right",
		scanner.RejectNotACode:        "That is not a coupon code",
	},
}
