package tui

import (
	"cardtill/scanner"
)

var textZH = Text{
	Lang:         "zh",
	WeChatOnline: "微信在线", WeChatOffline: "微信离线", WeChatUnknown: "尚未连上微信",
	WeChatBusy: "微信繁忙", OfflineSinceFmt: "自 %s", SendingFmt: "发送中 %d",
	Scanner: "扫码枪", ScannerConnected: "已连接", ScannerDisconnected: "已断开",
	Queue: "待同步", Conflicts: "冲突", InDoubt: "核实中", LastSync: "上次同步", LastSyncShort: "同步", NeverSynced: "尚未同步", ScannerKeyboard: "扫码枪：仅键盘", Syncing: "同步中…",
	JournalFullFmt: "本地存储已用 %d%%",
	KeyRefused:     "终端密钥被拒:请联系总部",
	ShiftFmt:       "班次 #%d", NoShift: "未开班", Cashier: "收银员",

	Consumed: "核销成功", Refused: "不可核销", AcceptedOffline: "离线已受理",
	AcceptedOfflineHint: "联网后自动核销 — 可以给顾客优惠",
	Duplicate:           "重复扫码", Checking: "核实中", CheckingHint: "微信未回复，正在核实 — 请顾客稍等，结果会自动显示在这里（无需重扫）",
	RedeemedWord: "核销成功", SyncOffline: "同步：现在连不上微信 — 券码保留，联网后自动发送",
	SettledMark: "（微信已确认）", SettledTitle: "本次运行以来已结清", SettledFmt: "%s 结清，原为 %s",
	ReadTwice: "重复扫码", Confirming: "等待收银员确认", Cancelled: "已取消",
	Conflict: "冲突", Error: "错误",
	CodeLabel: "券码", CustomerLabel: "顾客", OfflineCountFmt: "本班次离线已受理 %d / %d",
	Ready: "就绪 — 请扫码", Working: "正在向微信核对…", Prompt: "请扫码或输入券码 ▸ ",

	Recent: "最近", RecentEmpty: "本次尚无记录", ShiftCountsFmt: "%d ✔  %d ✖",
	QueueTitle: "等待微信", QueueEmpty: "没有等待微信的券码。", ConflictsTitle: "冲突（离线受理后被微信拒绝）",

	HelpTitle: "按键", HelpIntro: "扫码总是扫码：以扫码枪速度输入并以回车结束的按键，或串口扫码枪的券码，会关闭任何对话框（不作答）并立即处理。单独按回车提交输入行；在确认对话框中单独按回车即核销。标记：✔ 核销成功 · ✖ 不可核销 · ⏸ 离线已受理 · ? 正在向微信核实 · ! 冲突（离线受理后被微信拒绝）· – 已取消。",

	ConfirmTitle: "核销这张券？", ConfirmHint: "单独按回车 核销 · Esc 取消 · 扫码则取消本券并处理新券",

	QuitTitle: "退出 cardtill？", QuitInFlight: "有券码正在向微信核对。退出会中止核对、不核销（稍后请重新扫码）；若核销请求已发出，由本机记录核实。",
	QuitQueuedFmt: "%d 个券码等待微信。它们保存在本机记录中，下次运行 cardtill 时发送。",
	QuitAsk:       "y 退出 · n 留下",

	ShiftOpenTitle: "开班", ShiftOpenAsk: "输入收银员姓名后回车（Esc 取消）：",
	ShiftCloseTitle: "交班", ShiftCloseAskFmt: "结束 %[2]s 的班次 #%[1]d？y 交班 · n 取消",
	ShiftOpenedFmt: "班次 #%d 已开班（%s）", ShiftClosedFmt: "班次 #%d 已交班", ShiftsUnavailable: "此处不支持班次",

	OutageOn: "模拟微信断网：开", OutageOff: "模拟微信断网：关",
	BannerFmt: "微信离线 已 %s", BannerLeftFmt: "本班次还可离线受理 %d 张",
	BannerLimitReached: "已达离线受理上限 — 请找店长", BannerNoOffline: "本收银台不离线受理",
	BannerNoLimit: "可离线受理", MinutesFmt: "%d 分钟", HoursMinutesFmt: "%d 小时 %d 分钟",
	DemoTitle: "演示券码", DemoHint: "输入其一后回车",

	KeySubmit: "提交", KeyCancel: "返回", KeyShift: "班次", KeyQueue: "待同步",
	KeySync: "同步", KeyHelp: "帮助", KeyQuit: "退出", KeyOutage: "断网",
	ReportTitle: "班次报表", NoReport: "没有班次报表：未开班", KeyReport: "报表",
	MoreBelowFmt: "下面还有 %d 行 ↓", MoreAboveFmt: "↑ 上面 %d 行", ScrollEnd: "已到底", ScrollPosFmt: "第 %d–%d 行，共 %d 行", KeyScroll: "翻页",
	ShowingFmt: "最近 %d 条，共 %d 条", NoticesTitle: "总部通知",
	QueriedTitle: "经查询确认的核销", QueriedHint: "微信不说明由哪台收银台核销，请核对是否被重复使用。",
	QueriedWord: "已核销 · 经查询确认", UnseenFmt: "%d 条新", ConflictsSeen: "冲突已标为已读", NewMark: "新", KeyAck: "已读",
	NoticeEvents: map[string]string{
		"card_sku_remind":     "库存告警",
		"update_member_card":  "积分 / 余额变动",
		"card_pass_check":     "卡券审核通过",
		"card_not_pass_check": "卡券审核未通过",
		"card_pay_order":      "券点流水",
	},
	KeyLong: map[string]string{
		"PgUp/PgDn ↑/↓": "翻阅班次报表和待同步列表（Home、End：首、尾）",
		"F4":            "班次报表（当前班次）",
		"Enter":         "提交输入或扫到的券码", "Esc": "返回收银界面 / 取消",
		"F1": "本帮助", "Ctrl+C": "退出（有券码等待微信时先询问）",
		"F2": "开班或交班", "F3": "待同步与冲突",
		"F6": "冲突标为已读（在待同步界面；记入本机记录）",
		"F5": "立即把等待的券码发给微信", "F8": "模拟微信断网（仅演示）",
		"y": "是", "n": "否",
	},
	Yes: "是", No: "否",

	AcceptedHereFmt: "本机离线已受理（%s）— 尚未核销，联网后向微信核销",
	ConflictHereFmt: "本机离线受理（%s）后被微信拒绝 — 请找店长",
	UsedAtFmt:       "%s（%s）", ExpiredFmt: "已过期（%s）", NotYetFmt: "未到使用时间（%s）", OfflineLimitFmt: "已达离线受理上限（本班次 %d / %d）— 请找店长",

	Reasons: reasonsIn("zh"),
	Rejects: map[scanner.RejectKind]string{
		scanner.RejectTooLong:         "无法识别（过长）— 请重扫",
		scanner.RejectNonPrintable:    "无法识别 — 请重扫",
		scanner.RejectIncomplete:      "扫码不完整 — 请重扫",
		scanner.RejectEmpty:           "未输入内容",
		scanner.RejectProductBarcode:  "这是商品条码，不是卡券码",
		scanner.RejectPaymentCode:     "这是付款码 — 请用支付终端",
		scanner.RejectLinkWithoutCode: "该链接不含券码",
		scanner.RejectMalformedCode:   "该链接中的券码有误",
		scanner.RejectNotACode:        "这不是卡券码",
	},
}
