package report

import (
	"fmt"
	"strconv"
	"strings"

	"cardtill/words"

	"github.com/charmbracelet/x/ansi"
)

// Options tune the text renderings.
type Options struct {
	Lang  string // "en" or "zh" (default "en")
	Width int    // display cells per line: 48 for 80 mm, 32 for 58 mm (default 48)
}

type catalogue map[string]string

var cats = map[string]catalogue{
	"en": {
		"X": "SHIFT REPORT (RUNNING)", "Z": "CLOSING REPORT",
		"shift": "Shift", "terminal": "Till", "cashier": "Cashier",
		"opened": "Opened", "closed": "Closed", "printed": "Printed",
		"outcomes": "Outcomes", "total": "Total",
		"consumed_online": "Consumed online", "offline_consumed": "Offline, since consumed",
		"conflict": "Conflicts", "refused": "Refused", "pending": "Pending sync",
		"offline_accepted": "Accepted offline",
		"refused_by":       "Refused by reason", "by_card": "By coupon (honoured)", "by_hour": "By hour",
		"card_refused": "refused", "unknown_card": "Unknown coupon",
		"conflicts_open": "Open", "conflicts_resolved": "Resolved",
		"open": "Open: to follow up", "resolved": "Resolved by %s %s",
		"wechat_refused": "Refused by WeChat", "wechat_refused_code": "Refused by WeChat (errcode %d)",
		"by_cashier": "By cashier", "conflicts": "Conflicts (need a manager)",
		"pending_close": "Closed with %d pending; they settle later below.",
		"settled":       "Settled after close", "none": "none",
		"by_query": "of the consumed, confirmed by query", "by_query_short": "of consumed: by query",
		"queried":      "Consumed, confirmed by query",
		"queried_note": "The answer to the consume was lost and a later query found the code used. WeChat does not say which till used it: check it was not honoured twice. Times are when scanned.",
		"queried_star": " * confirmed after close.",
		"overrides":    "Offline limit raised", "override": "+%d by %s",
		"override_detail": "cashier %s: %d->%d", "manager": "manager",
	},
	"zh": {
		"X": "班次报表（当前）", "Z": "交班报表",
		"shift": "班次", "terminal": "收银台", "cashier": "收银员",
		"opened": "开班", "closed": "交班", "printed": "打印",
		"outcomes": "核销结果", "total": "合计",
		"consumed_online": "在线核销", "offline_consumed": "离线已受理并已核销",
		"conflict": "冲突", "refused": "拒绝", "pending": "待同步",
		"offline_accepted": "离线已受理",
		"refused_by":       "拒绝原因", "by_card": "按卡券（已兑付）", "by_hour": "按小时",
		"card_refused": "拒绝", "unknown_card": "未知卡券",
		"conflicts_open": "未处理", "conflicts_resolved": "已处理",
		"open": "未处理：需跟进", "resolved": "已处理：%s %s",
		"wechat_refused": "微信拒绝", "wechat_refused_code": "微信拒绝（错误码 %d）",
		"by_cashier": "按收银员", "conflicts": "冲突（需店长处理）",
		"pending_close": "交班时有 %d 笔待同步，稍后在下方结算。",
		"settled":       "交班后结算", "none": "无",
		"by_query": "以上核销中经查询确认", "by_query_short": "以上核销中经查询确认",
		"queried":      "经查询确认的核销",
		"queried_note": "核销应答丢失，后经查询得知券已核销。微信不说明由哪台收银台核销，请核对是否被重复使用。时间为扫码时间。",
		"queried_star": "*为交班后确认。",
		"overrides":    "店长放宽离线限额", "override": "+%d %s批准",
		"override_detail": "收银员 %s，限额 %d->%d", "manager": "店长",
	},
}

func (o Options) norm() (catalogue, int) {
	c, ok := cats[o.Lang]
	if !ok {
		c = cats["en"]
	}
	w := o.Width
	if w <= 0 {
		w = 48
	}
	if w < 16 {
		w = 16
	}
	return c, w
}

type printer struct {
	b strings.Builder
	w int
}

func (p *printer) line(s string) {
	if cells(s) > p.w {
		s = ansi.Truncate(s, p.w, "…")
	}
	p.b.WriteString(s)
	p.b.WriteByte('\n')
}

// cells is the display width of s: its length when it is printable ASCII
// (most lines of a report: codes, times, counts), else ansi.StringWidth.
func cells(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return ansi.StringWidth(s)
		}
	}
	return len(s)
}

func (p *printer) rule(ch string) { p.line(strings.Repeat(ch, p.w)) }

func (p *printer) center(s string) {
	s = ansi.Truncate(s, p.w, "…")
	pad := (p.w - ansi.StringWidth(s)) / 2
	p.line(strings.Repeat(" ", pad) + s)
}

// kv writes label on the left and value on the right, padded in cells.
func (p *printer) kv(indent int, label, value string) {
	vw := cells(value)
	room := p.w - indent - vw - 1
	if room < 1 {
		room = 1
	}
	lw := cells(label)
	if lw > room {
		label = ansi.Truncate(label, room, "…")
		lw = cells(label)
	}
	gap := p.w - indent - lw - vw
	if gap < 1 {
		gap = 1
	}
	p.line(strings.Repeat(" ", indent) + label + strings.Repeat(" ", gap) + value)
}

func itoa(n int) string { return strconv.Itoa(n) }

// Text renders r as receipt text, one line per row, every line at most
// o.Width display cells.
func Text(r Report, o Options) string {
	c, w := o.norm()
	p := &printer{w: w}
	const ts = "2006-01-02 15:04"
	p.center(c[string(r.Kind)])
	p.rule("=")
	p.kv(0, c["shift"], "#"+strconv.FormatUint(r.ShiftID, 10))
	p.kv(0, c["terminal"], r.Terminal)
	p.kv(0, c["cashier"], r.Cashier)
	p.kv(0, c["opened"], r.OpenedAt.Format(ts))
	if r.ClosedAt != nil {
		p.kv(0, c["closed"], r.ClosedAt.Format(ts))
	}
	p.kv(0, c["printed"], r.GeneratedAt.Format(ts))
	p.rule("-")
	p.line(c["outcomes"])
	oc := []struct {
		k string
		n int
	}{
		{"consumed_online", r.Outcomes.ConsumedOnline},
		{"offline_consumed", r.Outcomes.OfflineConsumed},
		{"conflict", r.Outcomes.Conflict},
		{"refused", r.Outcomes.Refused},
		{"pending", r.Outcomes.Pending},
	}
	byQuery := c["by_query"]
	if w < 40 {
		byQuery = c["by_query_short"]
	}
	for _, x := range oc {
		p.kv(2, c[x.k], itoa(x.n))
		if x.k == "offline_consumed" { // of both kinds of consumed
			p.kv(4, byQuery, itoa(r.ConfirmedByQuery))
		}
	}
	p.kv(0, c["total"], itoa(r.Total))
	p.kv(0, c["offline_accepted"], itoa(r.OfflineAccepted))
	if len(r.OfflineOverrides) > 0 {
		p.line("  " + c["overrides"])
		for _, x := range r.OfflineOverrides {
			p.kv(2, fmt.Sprintf(c["override"], x.Extra, managerName(c, x.By)), x.At.Format("01-02 15:04"))
			for _, l := range wrap(fmt.Sprintf(c["override_detail"], x.Cashier, x.Limit, x.Limit+x.Extra), w-6) {
				p.line("      " + l)
			}
		}
	}
	if len(r.RefusedByReason) > 0 {
		p.rule("-")
		p.line(c["refused_by"])
		for _, x := range r.RefusedByReason {
			p.kv(2, words.Short(o.lang(), x.Name), itoa(x.Count))
		}
	}
	p.rule("-")
	p.line(c["by_card"])
	if len(r.ByCard) == 0 {
		p.kv(2, c["none"], "")
	}
	for _, x := range r.ByCard {
		p.kv(2, cardLabel(c, x.CardID, x.Title), itoa(x.Honoured))
		if x.Refused > 0 {
			p.kv(4, c["card_refused"], itoa(x.Refused))
		}
	}
	p.rule("-")
	p.line(c["by_hour"])
	for _, x := range r.ByHour {
		p.kv(2, x.Hour.Format("01-02 15:00"), itoa(x.Count))
	}
	p.rule("-")
	p.line(c["by_cashier"])
	for _, x := range r.ByCashier {
		p.kv(2, x.Name, itoa(x.Count))
	}
	if len(r.Conflicts) > 0 {
		p.rule("-")
		p.line(c["conflicts"])
		p.kv(2, c["conflicts_open"], itoa(r.ConflictsOpen))
		p.kv(2, c["conflicts_resolved"], itoa(len(r.Conflicts)-r.ConflictsOpen))
		for _, x := range r.Conflicts {
			at := x.At.Format("01-02 15:04")
			if x.AfterClose {
				at = "*" + at // settled after close
			}
			p.kv(2, x.Code, at)
			for _, l := range wrap(cardLabel(c, x.CardID, x.CardTitle)+": "+ConflictWords(o.lang(), x), w-4) {
				p.line("    " + l)
			}
			st := c["open"]
			if x.Resolution != nil {
				st = fmt.Sprintf(c["resolved"], x.Resolution.By, x.Resolution.At.Format("01-02 15:04"))
			}
			for _, l := range wrap(st, w-4) {
				p.line("    " + l)
			}
			if x.Resolution != nil {
				for _, l := range wrap(x.Resolution.Note, w-6) {
					p.line("      " + l)
				}
			}
		}
	}
	if len(r.ConfirmedByQueryList) > 0 {
		p.rule("-")
		p.line(c["queried"])
		note := c["queried_note"]
		if r.Kind == KindZ {
			note += c["queried_star"]
		}
		for _, l := range wrap(note, w-2) {
			p.line("  " + l)
		}
		for _, x := range r.ConfirmedByQueryList {
			at := x.ScannedAt.Format("01-02 15:04")
			if x.AfterClose {
				at = "*" + at // confirmed after close
			}
			p.kv(2, x.Code, at)
		}
	}
	if r.Kind == KindZ {
		p.rule("-")
		if r.PendingAtClose > 0 {
			for _, l := range wrap(fmt.Sprintf(c["pending_close"], r.PendingAtClose), w) {
				p.line(l)
			}
		}
		p.line(c["settled"])
		s := r.SettledAfterClose
		for _, x := range []struct {
			k string
			n int
		}{{"consumed_online", s.ConsumedOnline}, {"offline_consumed", s.OfflineConsumed}, {"conflict", s.Conflict}, {"refused", s.Refused}} {
			p.kv(2, c[x.k], itoa(x.n))
			if x.k == "offline_consumed" {
				p.kv(4, byQuery, itoa(r.ConfirmedByQueryAfterClose))
			}
		}
	}
	p.rule("=")
	return p.b.String()
}

// ManagerBy is who an override is journaled as when [offline]
// manager_name is not set; reports print it in their language.
const ManagerBy = "manager"

func managerName(c catalogue, by string) string {
	if by == ManagerBy || by == "" {
		return c["manager"]
	}
	return by
}

// cardLabel is a card's title, else its card_id shortened, else the
// catalogue's word for an unknown card.
func cardLabel(c catalogue, id, title string) string {
	switch {
	case title != "":
		return title
	case id == "":
		return c["unknown_card"]
	}
	return ShortCardID(id)
}

// ShortCardID shortens a card_id for a narrow line: its first 6 and last
// 4 characters ("pFS7Fj…uCKc"); short ones are kept whole.
func ShortCardID(id string) string {
	if len(id) <= 12 {
		return id
	}
	return id[:6] + "…" + id[len(id)-4:]
}

// ConflictWords says in lang why WeChat refused a conflict's code, in
// words: the reason's name, else WeChat's refusal with its errcode.
func ConflictWords(lang string, x ConflictLine) string {
	if _, ok := cats[lang]; !ok {
		lang = "en"
	}
	c := cats[lang]
	switch x.ReasonCode {
	case "", "rejected", "conflict":
	default:
		if _, ok := words.For(lang, x.ReasonCode); ok {
			return words.Conflict(lang, x.ReasonCode)
		}
	}
	if x.Errcode != 0 {
		return fmt.Sprintf(c["wechat_refused_code"], x.Errcode)
	}
	return c["wechat_refused"]
}

// wrap breaks s into lines of at most w cells: at spaces where there are
// any, else between runes (Chinese has no spaces).
func wrap(s string, w int) []string {
	if s == "" {
		return nil
	}
	if cells(s) <= w {
		return []string{s}
	}
	var toks []string
	for i, word := range strings.Split(s, " ") {
		if i > 0 {
			toks = append(toks, " ")
		}
		if cells(word) > w/2 || !strings.Contains(s, " ") {
			for _, r := range word {
				toks = append(toks, string(r))
			}
		} else {
			toks = append(toks, word)
		}
	}
	var out []string
	cur, cw := "", 0
	for _, t := range toks {
		tw := cells(t)
		if cw+tw > w {
			out = append(out, strings.TrimRight(cur, " "))
			cur, cw = "", 0
			if t == " " {
				continue
			}
		}
		cur += t
		cw += tw
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// Bars renders the per-hour counts as a compact bar chart for the screen:
// one line per hour, "15 ████████ 12", each at most width cells.
func Bars(r Report, width int) string {
	if len(r.ByHour) == 0 || width < 8 {
		return ""
	}
	max := 0
	numW := 1
	for _, h := range r.ByHour {
		if h.Count > max {
			max = h.Count
		}
		if l := len(itoa(h.Count)); l > numW {
			numW = l
		}
	}
	room := width - 3 - 1 - numW // "HH " + bar + " " + n
	if room < 1 {
		room = 1
	}
	var b strings.Builder
	for _, h := range r.ByHour {
		n := 0
		if max > 0 {
			n = (h.Count*room + max - 1) / max
		}
		line := fmt.Sprintf("%s %s%s %*d", h.Hour.Format("15"), strings.Repeat("█", n), strings.Repeat(" ", room-n), numW, h.Count)
		b.WriteString(ansi.Truncate(line, width, ""))
		b.WriteByte('\n')
	}
	return b.String()
}
