package tui

// mgrText are the words of the manager's screens added with issue 16 (a
// shift closed with codes pending, a conflict's detail and resolution, F4
// paging through shifts, printing), kept apart from Text so the till's
// own words stay in one place.
type mgrText struct {
	// close with pending: the second, explicit key (F2 again)
	ClosePendingFmt string // %d codes
	CloseAgain      string
	// F3: a conflict picked with Tab, opened with Enter
	QueueHintKeys                              string
	DetailTitle                                string
	DetailCode, DetailCard, DetailCashier      string
	DetailShift, DetailScanned, DetailAccepted string
	DetailGiven, DetailGivenText               string
	DetailRefusal, DetailFeed, DetailFeedNone  string
	DetailOpen, DetailResolvedFmt, DetailKeys  string
	ResolveByAsk, ResolveNoteAsk, ResolveSaved string
	ResolveUnavailable                         string
	Resolved, Open                             string
	KeyResolve, KeyPick                        string
	KeyShifts, KeyPrint                        string
	// F4 paging
	ReportPagesHint, ReportNoEarlier, ReportNoShift string
	Printed, PrintUnavailable, Printing             string
	// the manager's override of the offline limit (override.go)
	OverrideHint, OverrideTitle, OverrideAtFmt string
	OverridePINAsk, OverrideChecking           string
	OverrideWrongPIN, OverridePausedFmt        string
	OverrideCountAsk, OverrideBadCountFmt      string
	OverrideConfirmFmt, OverrideConfirmKeys    string
	OverrideDoneFmt, OverrideKeyHelp           string
}

var mgrTexts = map[string]*mgrText{
	"en": {
		ClosePendingFmt: "%d codes still wait for WeChat: they settle later and show under \"settled after close\" on the Z report.",
		CloseAgain:      "Press F2 again to close anyway · n keep open",
		QueueHintKeys:   "Tab pick a conflict · Enter its detail",
		DetailTitle:     "Conflict", DetailCode: "Code", DetailCard: "Coupon", DetailCashier: "Cashier",
		DetailShift: "Shift", DetailScanned: "Scanned", DetailAccepted: "Accepted offline",
		DetailGiven: "Customer was given", DetailGivenText: "the goods (accepted offline)",
		DetailRefusal: "WeChat said", DetailFeed: "Hub feed since", DetailFeedNone: "nothing",
		DetailOpen: "Open: record what was done (F7)", DetailResolvedFmt: "Resolved by %s at %s: %s",
		DetailKeys:   "F7 resolve with a note · F9 print a slip · Tab next · Esc back",
		ResolveByAsk: "Who resolves it (your name):", ResolveNoteAsk: "What was done (Enter saves, Esc cancels):",
		ResolveSaved: "Conflict resolved; the note is kept in the journal", ResolveUnavailable: "Resolving is not available here",
		Resolved: "resolved", Open: "open", KeyResolve: "resolve", KeyPick: "next", KeyShifts: "shifts", KeyPrint: "print",
		ReportPagesHint: "←/→ earlier/later shifts · F9 print", ReportNoEarlier: "No earlier shift", ReportNoShift: "No shift yet: F2 opens one",
		Printed: "Sent to the printer", PrintUnavailable: "No receipt printer set up ([printer] in the config)", Printing: "Printing…",
		OverrideHint:  "Offline limit reached: a manager can allow more with F7",
		OverrideTitle: "Manager override: offline limit", OverrideAtFmt: "%d of %d accepted offline this shift",
		OverridePINAsk: "Manager PIN (Enter, Esc cancels):", OverrideChecking: "Checking…",
		OverrideWrongPIN: "Wrong PIN", OverridePausedFmt: "Too many wrong PINs: try again in %d s",
		OverrideCountAsk: "How many more this shift (Enter):", OverrideBadCountFmt: "Type a number from 1 to %d",
		OverrideConfirmFmt: "Allow %d more offline this shift (limit %d -> %d)?", OverrideConfirmKeys: "Enter allow · Esc cancel",
		OverrideDoneFmt: "Manager allowed %d more offline: the limit this shift is %d", OverrideKeyHelp: "at the offline limit: a manager allows more (PIN)",
	},
	"zh": {
		ClosePendingFmt: "还有 %d 笔待微信确认：稍后结算，列入交班报表的“交班后结算”。",
		CloseAgain:      "再按 F2 仍然交班 · n 继续",
		QueueHintKeys:   "Tab 选择冲突 · Enter 查看详情",
		DetailTitle:     "冲突详情", DetailCode: "券码", DetailCard: "卡券", DetailCashier: "收银员",
		DetailShift: "班次", DetailScanned: "扫码时间", DetailAccepted: "离线受理时间",
		DetailGiven: "顾客已获得", DetailGivenText: "商品（离线受理）",
		DetailRefusal: "微信答复", DetailFeed: "此后中心推送", DetailFeedNone: "无",
		DetailOpen: "未处理：请记录处理结果（F7）", DetailResolvedFmt: "已处理：%s，%s：%s",
		DetailKeys:   "F7 填写处理说明 · F9 打印冲突单 · Tab 下一条 · Esc 返回",
		ResolveByAsk: "处理人（您的姓名）：", ResolveNoteAsk: "处理结果（Enter 保存，Esc 取消）：",
		ResolveSaved: "冲突已处理，说明已记入日志", ResolveUnavailable: "此处不支持处理冲突",
		Resolved: "已处理", Open: "未处理", KeyResolve: "处理", KeyPick: "下一条", KeyShifts: "前后班次", KeyPrint: "打印",
		ReportPagesHint: "←/→ 前后班次 · F9 打印", ReportNoEarlier: "没有更早的班次", ReportNoShift: "尚无班次：按 F2 开班",
		Printed: "已发送到打印机", PrintUnavailable: "未配置小票打印机（配置文件 [printer]）", Printing: "打印中…",
		OverrideHint:  "已达离线受理上限：店长可按 F7 放宽",
		OverrideTitle: "店长授权：放宽离线限额", OverrideAtFmt: "本班次已离线受理 %d / %d",
		OverridePINAsk: "店长密码（Enter 确认，Esc 取消）：", OverrideChecking: "正在核对…",
		OverrideWrongPIN: "密码错误", OverridePausedFmt: "密码错误次数过多：请 %d 秒后再试",
		OverrideCountAsk: "本班次再放宽几笔（Enter）：", OverrideBadCountFmt: "请输入 1 到 %d 之间的数字",
		OverrideConfirmFmt: "本班次离线受理再放宽 %d 笔（限额 %d -> %d）？", OverrideConfirmKeys: "Enter 确认 · Esc 取消",
		OverrideDoneFmt: "店长已放宽 %d 笔：本班次离线限额为 %d", OverrideKeyHelp: "达到离线受理上限时：店长凭密码放宽",
	},
}

// mtx is the manager's words in the screen's language.
func (m Model) mtx() *mgrText {
	if t, ok := mgrTexts[m.tx.Lang]; ok {
		return t
	}
	return mgrTexts["en"]
}
