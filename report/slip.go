package report

import (
	"strconv"
	"time"
)

var slipWords = map[string]map[string]string{
	"en": {"title": "CONFLICT SLIP", "code": "Code", "coupon": "Coupon", "cashier": "Cashier", "shift": "Shift", "till": "Till",
		"at": "Refused at", "why": "WeChat said", "given": "The customer was given the goods (accepted offline).", "status": "Status"},
	"zh": {"title": "冲突单", "code": "券码", "coupon": "卡券", "cashier": "收银员", "shift": "班次", "till": "收银台",
		"at": "拒绝时间", "why": "微信答复", "given": "顾客已获得商品（离线受理）。", "status": "状态"},
}

// ConflictSlip renders one conflict for the receipt printer: what a
// manager takes along to follow it up (code, coupon, cashier, shift, when
// and why WeChat refused it, open or resolved with the note).
func ConflictSlip(x ConflictLine, shiftID uint64, terminal string, printed time.Time, o Options) string {
	c, w := o.norm()
	sw := slipWords[o.lang()]
	p := &printer{w: w}
	const ts = "2006-01-02 15:04"
	p.center(sw["title"])
	p.rule("=")
	p.kv(0, sw["code"], x.Code)
	p.kv(0, sw["coupon"], cardLabel(c, x.CardID, x.CardTitle))
	p.kv(0, sw["cashier"], x.Cashier)
	p.kv(0, sw["shift"], "#"+strconv.FormatUint(shiftID, 10))
	p.kv(0, sw["till"], terminal)
	p.kv(0, sw["at"], x.At.Format(ts))
	p.line(sw["why"])
	for _, l := range wrap(ConflictWords(o.lang(), x), w-2) {
		p.line("  " + l)
	}
	for _, l := range wrap(sw["given"], w) {
		p.line(l)
	}
	p.rule("-")
	st := c["open"]
	if x.Resolution != nil {
		st = c["conflicts_resolved"]
	}
	p.kv(0, sw["status"], st)
	if r := x.Resolution; r != nil {
		p.kv(2, r.By, r.At.Format(ts))
		for _, l := range wrap(r.Note, w-2) {
			p.line("  " + l)
		}
	}
	p.kv(0, c["printed"], printed.Format(ts))
	p.rule("=")
	return p.b.String()
}
