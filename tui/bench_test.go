package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"cardtill/sync"
)

// fullShift is a till after a long shift (2,000 redemptions: the recent
// list full at its bound), in lang at w x h.
func fullShift(b *testing.B, lang string, w, h int) Model {
	m := newTestModel(lang, w, h, Options{Recent: 50})
	for i := range 2000 {
		o := outcome(sync.Consumed, sync.ReasonOK, fmt.Sprintf("1102%08d", i), "¥20 off any drink 任意饮品立减20元")
		if i%7 == 0 {
			o = outcome(sync.Refused, sync.ReasonAlreadyUsed, fmt.Sprintf("2260%08d", i), "Member card 会员卡")
		}
		if i%11 == 0 {
			o = outcome(sync.AcceptedOffline, sync.ReasonAcceptedOffline, fmt.Sprintf("3300%08d", i), "满20减5券")
		}
		o.ID = uint64(i + 1)
		o.At = t0.Add(time.Duration(i) * time.Second)
		m = send(m, redeemedMsg{out: o})
	}
	if len(m.recent.items) != 50 {
		b.Fatalf("recent holds %d, want the bound 50", len(m.recent.items))
	}
	return m
}

// BenchmarkView draws the till with a full recent list, in English and in
// Chinese (wide characters), at 80x24, 120x40 and 160x45 (the big answer).
func BenchmarkView(b *testing.B) {
	for _, lang := range []string{"en", "zh"} {
		for _, sz := range []struct{ w, h int }{{80, 24}, {120, 40}, {160, 45}} {
			b.Run(fmt.Sprintf("%s-%dx%d", lang, sz.w, sz.h), func(b *testing.B) {
				m := fullShift(b, lang, sz.w, sz.h)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					_ = m.View()
				}
			})
		}
	}
	// the first frame of a screen: nothing drawn before (the draw memo
	// empty), every line measured
	for _, lang := range []string{"en", "zh"} {
		b.Run(lang+"-160x45-first", func(b *testing.B) {
			m := fullShift(b, lang, 160, 45)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				m.memo = newDrawMemo()
				_ = m.View()
			}
		})
	}
}

// BenchmarkSettleUpdate is the screen's part of a redemption update: the
// message from the engine's stream applied (the recent row, the counts,
// the panel) and the screen drawn again, with a full recent list at
// 160x45.
func BenchmarkSettleUpdate(b *testing.B) {
	for _, lang := range []string{"en", "zh"} {
		b.Run(lang, func(b *testing.B) {
			m := fullShift(b, lang, 160, 45)
			last := m.recent.items[len(m.recent.items)-1]
			m = send(m, redeemedMsg{out: last}) // on the panel too
			flip := []sync.Outcome{last, last}
			flip[0].Kind, flip[0].Reason = sync.Conflict, sync.ReasonAlreadyUsed
			flip[1].Kind, flip[1].Reason = sync.Consumed, sync.ReasonOK
			b.ReportAllocs()
			b.ResetTimer()
			i := 0
			for b.Loop() {
				// a code and a time not drawn before: the panel and the
				// row are drawn afresh (the draw memo does not know them)
				o := flip[i%2]
				o.Code = fmt.Sprintf("9900%08d", i)
				o.At = o.At.Add(time.Duration(i) * time.Minute)
				m.result.code = o.Code
				mm, _ := m.onUpdate(o)
				m = mm.(Model)
				_ = m.View()
				i++
			}
		})
	}
}

func TestCataloguesComplete(t *testing.T) {
	t.Parallel()
	en, zh := Catalogue("en"), Catalogue("zh")
	for r := range en.Reasons {
		if zh.Reasons[r] == "" {
			t.Errorf("zh lacks reason %q", r)
		}
	}
	for r := range zh.Reasons {
		if en.Reasons[r] == "" {
			t.Errorf("en lacks reason %q", r)
		}
	}
	for _, r := range sync.AllReasons() {
		if en.Reasons[r] == "" || zh.Reasons[r] == "" {
			t.Errorf("reason %q lacks a text (en %q, zh %q)", r, en.Reasons[r], zh.Reasons[r])
		}
	}
	for k := range en.Rejects {
		if zh.Rejects[k] == "" {
			t.Errorf("zh lacks reject %v", k)
		}
	}
	for _, tx := range []*Text{en, zh} {
		for _, r := range []sync.Reason{sync.ReasonAlreadyUsed, sync.ReasonExpired, sync.ReasonGifting, sync.ReasonUnknownCode,
			sync.ReasonOfflineShiftLimit, sync.ReasonDuplicateRead, sync.ReasonNoShift, sync.ReasonCancelled, sync.ReasonConflict} {
			if tx.Reasons[r] == "" {
				t.Errorf("%s lacks reason %q", tx.Lang, r)
			}
		}
	}
}

func TestLangFromEnv(t *testing.T) {
	for _, c := range []struct{ lcall, lang, want string }{
		{"", "zh_CN.UTF-8", "zh"}, {"", "en_US.UTF-8", "en"}, {"zh_TW.UTF-8", "en_US.UTF-8", "zh"},
		{"C", "zh_CN.UTF-8", "en"}, {"", "", "en"},
	} {
		t.Setenv("LC_ALL", c.lcall)
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", c.lang)
		if got := LangFromEnv(); got != c.want {
			t.Errorf("LC_ALL=%q LANG=%q: %s, want %s", c.lcall, c.lang, got, c.want)
		}
	}
}

func TestStatusNeverOnlineWithoutSayingItemsWait(t *testing.T) {
	t.Parallel()
	m := newTestModel("en", 80, 24, Options{})
	m.status.st = sync.Status{Online: true, LastContact: t0, QueueDepth: 4}
	if h := m.header(80); !strings.Contains(h, "sending 4") {
		t.Fatalf("online with 4 waiting, header says %q", h)
	}
	m.status.st = sync.Status{Online: true, LastSync: t0}
	if h := m.header(80); strings.Contains(h, "WeChat online") {
		t.Fatalf("never reached WeChat, header says %q", h)
	}
	if s := m.statusLine(80); !strings.Contains(s, "never synced") {
		t.Fatalf("never reached WeChat, status says %q", s)
	}
}

func TestRecentBounded(t *testing.T) {
	t.Parallel()
	r := recentList{max: 3}
	for i := range 10 {
		r.add(sync.Outcome{Kind: sync.Consumed, Code: fmt.Sprint(i)})
	}
	r.add(sync.Outcome{Kind: sync.Duplicate, Code: "dup"})
	if len(r.items) != 3 || r.items[2].Code != "9" || r.ok != 10 {
		t.Fatalf("recent %+v ok %d", r.items, r.ok)
	}
}

// A consume still being checked (its answer lost) is neither honoured nor
// refused in the shift counts until it settles.
func TestRecentCountsCheckingWhenSettled(t *testing.T) {
	t.Parallel()
	r := recentList{max: 5}
	r.add(sync.Outcome{ID: 1, Kind: sync.Checking, Reason: sync.ReasonInDoubt, Code: "1"})
	if r.ok != 0 || r.notOK != 0 {
		t.Fatalf("checking counted: %d ✔ %d ✖", r.ok, r.notOK)
	}
	r.settle(sync.Outcome{ID: 1, Kind: sync.Consumed, Reason: sync.ReasonOK, Code: "1"})
	if r.ok != 1 || r.notOK != 0 {
		t.Fatalf("settled consumed: %d ✔ %d ✖", r.ok, r.notOK)
	}
	r.add(sync.Outcome{ID: 2, Kind: sync.Checking, Reason: sync.ReasonInDoubt, Code: "2"})
	r.settle(sync.Outcome{ID: 2, Kind: sync.Refused, Reason: sync.ReasonAlreadyUsed, Code: "2"})
	if r.ok != 1 || r.notOK != 1 {
		t.Fatalf("settled refused: %d ✔ %d ✖", r.ok, r.notOK)
	}
}

func TestFormatCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"452998530302": "4529 9853 0302", "CUST-8848": "CUST-8848", "1234567": "1234567"} {
		if got := formatCode(in); got != want {
			t.Errorf("formatCode(%q) = %q, want %q", in, got, want)
		}
	}
}

// At 80 columns the header keeps the shift, the cashier and the WeChat
// status whatever the store's name; the store name is what gets cut.
func TestHeaderKeepsShiftCashierWeChat(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"en", "zh"} {
		m := newTestModel(lang, 80, 24, Options{})
		m.status.terminal = "Store 12 Nanjing West Road 南京西路旗舰店 / till-2"
		m.status.cashier = "Wang Fang 王芳"
		for _, st := range []sync.Status{
			{Online: true, LastContact: t0},
			{OfflineSince: t0.Add(-12 * time.Minute), LastContact: t0.Add(-12 * time.Minute)},
		} {
			m.status.st = st
			h := ansi.Strip(m.header(80))
			for _, want := range []string{fmt.Sprintf(m.tx.ShiftFmt, 31), "Wang Fang 王芳", m.tx.WeChatOnline} {
				if !st.Online && want == m.tx.WeChatOnline {
					want = m.tx.WeChatOffline
				}
				if !strings.Contains(h, want) {
					t.Errorf("%s: header %q lacks %q", lang, h, want)
				}
			}
			if !strings.Contains(h, "Store 12") || strings.Contains(h, "till-2") {
				t.Errorf("%s: header %q: the store name should be cut, not dropped first", lang, h)
			}
			if w := ansi.StringWidth(h); w > 80 {
				t.Errorf("%s: header is %d cells", lang, w)
			}
		}
	}
}
