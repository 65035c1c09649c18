package tui

import (
	"os"
	"strings"

	"cardtill/scanner"
	"cardtill/sync"
	"cardtill/words"
)

// Text is one language's catalogue: every text the cashier reads. A
// translation is one file (text_en.go, text_zh.go) filling this struct.
type Text struct {
	Lang string

	WeChatOnline, WeChatOffline, WeChatUnknown, OfflineSinceFmt, SendingFmt string
	// WeChatBusy: WeChat answers busy or over quota (sync.Status.WeChatBusy)
	WeChatBusy                                                               string
	Scanner, ScannerConnected, ScannerDisconnected                           string
	Queue, Conflicts, InDoubt, LastSync, LastSyncShort, NeverSynced, Syncing string
	ScannerKeyboard                                                          string // the status bar without a serial scanner
	JournalFullFmt, KeyRefused                                               string // KeyRefused: the hub refused this till's terminal key
	ShiftFmt, NoShift, Cashier                                               string

	Consumed, Refused, AcceptedOffline, AcceptedOfflineHint, Duplicate string
	Checking, CheckingHint, Conflict, Error                            string
	Confirming, Cancelled, ReadTwice                                   string
	RedeemedWord                                                       string // a redeemed row of the recent list
	// Settling in place: the panel's mark, F3's section and "at 14:52, was checking".
	SettledMark, SettledTitle, SettledFmt     string
	SyncOffline                               string // F5 while WeChat is unreachable
	CodeLabel, CustomerLabel, OfflineCountFmt string
	Ready, Working, Prompt                    string

	Recent, RecentEmpty, ShiftCountsFmt    string
	QueueTitle, QueueEmpty, ConflictsTitle string

	HelpTitle, HelpIntro string

	ConfirmTitle, ConfirmHint string

	QuitTitle, QuitInFlight, QuitQueuedFmt, QuitAsk string

	ShiftOpenTitle, ShiftOpenAsk, ShiftCloseTitle, ShiftCloseAskFmt string
	ShiftOpenedFmt, ShiftClosedFmt, ShiftsUnavailable               string

	OutageOn, OutageOff, DemoTitle, DemoHint string

	// The outage banner: "WeChat OFFLINE for 12 min", then what the
	// shift can still accept offline; minutes, hours and minutes.
	BannerFmt, BannerLeftFmt, BannerLimitReached, BannerNoOffline, BannerNoLimit string
	MinutesFmt, HoursMinutesFmt                                                  string

	ReportTitle, NoReport, KeyReport string

	// Scrolling the shift report and the queue: "N more ↓", "↑ N
	// above", the end reached, "lines A–B of N", the help word.
	MoreBelowFmt, MoreAboveFmt, ScrollEnd, ScrollPosFmt, KeyScroll string

	// The queue screen from the journal: "latest N of M"; the hub's
	// notices for the manager, with a name for each event.
	ShowingFmt, NoticesTitle string
	// Conflicts the manager has not marked seen: "N new", the notice
	// after F6, the row mark, the key's word.
	UnseenFmt, ConflictsSeen, NewMark, KeyAck string
	// Redemptions consumed as confirmed by a query (WeChat cannot say
	// which till consumed them): the queue screen's section title, its
	// one-line hint, and the word on each row.
	QueriedTitle, QueriedHint, QueriedWord string
	NoticeEvents                           map[string]string

	KeySubmit, KeyCancel, KeyShift, KeyQueue, KeySync, KeyHelp, KeyQuit, KeyOutage string
	Yes, No                                                                        string
	// KeyLong are the help screen's longer descriptions, by key name.
	KeyLong map[string]string

	// Reasons explain refusals in words a cashier uses,
	// from package words, the one catalogue the reports share.
	Reasons map[sync.Reason]string
	// Rejects explain scans that are not coupon codes.
	Rejects map[scanner.RejectKind]string
	// UsedAtFmt completes "already used": time, till.
	UsedAtFmt, ExpiredFmt, NotYetFmt, OfflineLimitFmt string
	// A code this till accepted offline, scanned again: still queued
	// (never "redeemed" before WeChat confirmed), or since a conflict.
	AcceptedHereFmt, ConflictHereFmt string
}

// Catalogue returns the texts of lang ("zh" or "en"); anything else is en.
func Catalogue(lang string) *Text {
	if lang == "zh" {
		return &textZH
	}
	return &textEN
}

// LangFromEnv picks "zh" when LC_ALL, LC_MESSAGES or LANG (first set, in
// that order) names Chinese, else "en".
func LangFromEnv() string {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := os.Getenv(v); s != "" {
			if strings.HasPrefix(strings.ToLower(s), "zh") {
				return "zh"
			}
			return "en"
		}
	}
	return "en"
}

// reasonsIn is package words' screen line for every reason, in lang.
func reasonsIn(lang string) map[sync.Reason]string {
	m := make(map[sync.Reason]string)
	for _, c := range words.Codes() {
		m[sync.Reason(c)] = words.Screen(lang, c)
	}
	return m
}
