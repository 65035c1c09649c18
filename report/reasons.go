package report

// reasonNames are the short words a receipt prints for a refusal reason
// (the journal's reason codes, as package sync spells them). A code with no
// name here is printed as it is, so a reason added later still shows.
var reasonNames = map[string]map[string]string{
	"en": {
		"already_used": "Already used", "used_here": "Used at this till",
		"expired": "Expired", "not_yet_valid": "Not valid yet",
		"gifting": "Being given away", "gift_timeout": "Gift timed out", "gifted": "Given away",
		"deleted": "Deleted by customer", "unavailable": "Disabled by merchant",
		"unknown_code": "Not this store's coupon", "invalid_code": "Not a coupon code",
		"card_status": "Card not active", "marked": "Reserved elsewhere",
		"time_restricted": "Wrong time of day", "not_consumable": "Not usable (WeChat)",
		"config": "Till set-up problem", "rejected": "Refused by WeChat",
		"duplicate_read": "Double read", "in_doubt": "Answer lost",
		"conflict":        "Conflict",
		"offline_refused": "Offline: not accepted", "offline_shift_limit": "Offline: shift limit",
		"offline_too_long": "Offline: too long", "offline_card": "Offline: card not allowed",
		"offline_unknown_code": "Offline: unknown code", "offline_known_bad": "Offline: known unusable",
		"offline_journal_full": "Offline: storage full", "no_shift": "No shift open", "offline_not_a_code": "Offline: not a coupon code",
		"cancelled": "Cancelled by cashier", "interrupted": "Till stopped",
		"ok": "Consumed", "confirmed_by_query": "Consumed (by query)", "accepted_offline": "Accepted offline",
	},
	"zh": {
		"already_used": "已被使用", "used_here": "本机已使用",
		"expired": "已过期", "not_yet_valid": "未到生效时间",
		"gifting": "转赠中", "gift_timeout": "转赠超时", "gifted": "已转赠",
		"deleted": "顾客已删除", "unavailable": "商户已停用",
		"unknown_code": "非本店卡券", "invalid_code": "无效券码",
		"card_status": "卡券未生效", "marked": "他处占用中",
		"time_restricted": "不在可用时段", "not_consumable": "微信称不可用",
		"config": "收银台配置问题", "rejected": "微信拒绝",
		"duplicate_read": "重复读码", "in_doubt": "应答丢失",
		"conflict":        "冲突",
		"offline_refused": "离线：不受理", "offline_shift_limit": "离线：超过班次上限",
		"offline_too_long": "离线：时间过长", "offline_card": "离线：此券不支持",
		"offline_unknown_code": "离线：未知券码", "offline_known_bad": "离线：已知不可用",
		"offline_journal_full": "离线：存储已满", "no_shift": "未开班", "offline_not_a_code": "离线：不是券码",
		"cancelled": "收银员取消", "interrupted": "收银台中断",
		"ok": "核销成功", "confirmed_by_query": "查询确认核销", "accepted_offline": "离线已受理",
	},
}

// reasonName is the receipt's word for reason code in lang.
func reasonName(lang, code string) string {
	if n, ok := reasonNames[lang][code]; ok {
		return n
	}
	return code
}

// lang is o.Lang if there is a catalogue for it, else "en".
func (o Options) lang() string {
	if _, ok := cats[o.Lang]; ok {
		return o.Lang
	}
	return "en"
}

// conflictNames are the words for a conflict's reason where they differ
// from a refusal's: the customer was served offline and WeChat refused
// the code later, so it is no use asking the customer to do anything.
var conflictNames = map[string]map[string]string{
	"en": {
		"already_used": "Already used elsewhere", "gifting": "Was being given to a friend",
		"gift_timeout": "Gift had timed out", "deleted": "Deleted by the customer",
		"expired": "Had expired", "unknown_code": "Not this store's coupon",
	},
	"zh": {
		"already_used": "已在别处使用", "gifting": "当时正在转赠",
		"gift_timeout": "转赠已超时", "deleted": "已被顾客删除",
		"expired": "已过期", "unknown_code": "非本店卡券",
	},
}
