package tui

import (
	"cardtill/scanner"
)

var textEN = Text{
	Lang:         "en",
	WeChatOnline: "WeChat online", WeChatOffline: "WeChat OFFLINE", WeChatUnknown: "WeChat not reached yet",
	WeChatBusy: "WeChat BUSY", OfflineSinceFmt: "since %s", SendingFmt: "sending %d",
	Scanner: "scanner", ScannerConnected: "connected", ScannerDisconnected: "UNPLUGGED",
	Queue: "queue", Conflicts: "conflicts", InDoubt: "checking", LastSync: "last sync", LastSyncShort: "synced", NeverSynced: "never synced", ScannerKeyboard: "scanner: keyboard only", Syncing: "syncing…",
	JournalFullFmt: "journal %d%% full",
	KeyRefused:     "KEY REFUSED: ask HQ",
	ShiftFmt:       "shift #%d", NoShift: "no shift open", Cashier: "cashier",

	Consumed: "REDEEMED", Refused: "REFUSED", AcceptedOffline: "ACCEPTED OFFLINE",
	AcceptedOfflineHint: "will be checked with WeChat later — honour it",
	Duplicate:           "DUPLICATE READ", Checking: "CHECKING", CheckingHint: "WeChat did not answer — ask the customer to wait a moment: the answer appears here by itself (no need to scan again)",
	RedeemedWord: "redeemed", SyncOffline: "Sync: WeChat cannot be reached now — the codes wait and are sent when it answers",
	SettledMark: "(settled by WeChat)", SettledTitle: "Settled since the till started", SettledFmt: "at %s, was %s",
	ReadTwice: "read twice", Confirming: "Waiting for you to confirm", Cancelled: "CANCELLED",
	Conflict: "CONFLICT", Error: "ERROR",
	CodeLabel: "code", CustomerLabel: "customer", OfflineCountFmt: "offline this shift %d / %d",
	Ready: "Ready — scan a coupon", Working: "Checking with WeChat…", Prompt: "Scan or type a code ▸ ",

	Recent: "Recent", RecentEmpty: "nothing yet this session", ShiftCountsFmt: "%d ✔  %d ✖",
	QueueTitle: "Waiting for WeChat", QueueEmpty: "Nothing waits for WeChat.", ConflictsTitle: "Conflicts (accepted offline, then refused by WeChat)",

	HelpTitle: "Keys", HelpIntro: "A scan is always a scan: keys typed at scanner speed that end in Enter, or a code from the serial scanner, close any dialog unanswered and are served. Enter pressed on its own submits the line and, in the confirm dialog, consumes. Marks: ✔ redeemed · ✖ refused · ⏸ accepted offline · ? checking with WeChat · ! conflict (accepted offline, then refused) · – cancelled.",

	ConfirmTitle: "Redeem this coupon?", ConfirmHint: "Enter (on its own) redeem · Esc cancel · a scan cancels this one and is served",

	QuitTitle: "Quit cardtill?", QuitInFlight: "A code is still being checked with WeChat. Quitting stops the check and redeems nothing (scan it again later), unless the consume already went out: the journal settles that one.",
	QuitQueuedFmt: "%d code(s) wait for WeChat. They stay in the journal and are sent when cardtill runs again.",
	QuitAsk:       "y quit · n stay",

	ShiftOpenTitle: "Open a shift", ShiftOpenAsk: "Cashier name, then Enter (Esc cancels):",
	ShiftCloseTitle: "Close the shift", ShiftCloseAskFmt: "Close shift #%d of %s? y close · n keep open",
	ShiftOpenedFmt: "Shift #%d opened for %s", ShiftClosedFmt: "Shift #%d closed", ShiftsUnavailable: "Shifts are not available here",

	OutageOn: "Simulated WeChat outage ON", OutageOff: "Simulated WeChat outage OFF",
	BannerFmt: "WeChat OFFLINE for %s", BannerLeftFmt: "%d more can be accepted offline this shift",
	BannerLimitReached: "offline limit reached — ask a manager", BannerNoOffline: "this till does not accept coupons offline",
	BannerNoLimit: "coupons are accepted offline", MinutesFmt: "%d min", HoursMinutesFmt: "%d h %02d min",
	DemoTitle: "Demo codes", DemoHint: "type one and press Enter",

	KeySubmit: "submit", KeyCancel: "back", KeyShift: "shift", KeyQueue: "queue",
	KeySync: "sync", KeyHelp: "help", KeyQuit: "quit", KeyOutage: "outage",
	ReportTitle: "Shift report", NoReport: "No shift report: no shift open", KeyReport: "report",
	MoreBelowFmt: "%d more ↓", MoreAboveFmt: "↑ %d above", ScrollEnd: "end", ScrollPosFmt: "lines %d–%d of %d", KeyScroll: "scroll",
	ShowingFmt: "the latest %d of %d", NoticesTitle: "Notices from the hub",
	QueriedTitle: "Redeemed, confirmed by query", QueriedHint: "WeChat does not say which till used these: check none was honoured twice.",
	QueriedWord: "redeemed · by query", UnseenFmt: "%d new", ConflictsSeen: "Conflicts marked seen", NewMark: "new", KeyAck: "seen",
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

	AcceptedHereFmt: "Accepted offline here at %s — not redeemed yet, WeChat is asked when back",
	ConflictHereFmt: "Accepted offline here at %s, then refused by WeChat — ask a manager",
	UsedAtFmt:       "at %s (%s)", ExpiredFmt: "Expired on %s", NotYetFmt: "Not valid until %s", OfflineLimitFmt: "Offline limit reached (%d of %d this shift) — ask a manager",

	Reasons: reasonsIn("en"),
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
