// Package words owns the words for why a redemption ended as it did: for
// every reason code (package sync's Reason values, the journal's reason
// strings), in zh and en, the cashier's line on the till screen, the short
// name a report or receipt prints and, where a conflict needs other words
// than a refusal (the customer was served offline, it is no use asking them
// to do anything), the manager's words for it. The till screen (tui) and
// the reports (report) read them here, and only here.
package words

// Words are one reason's words in one language.
type Words struct {
	// Screen is the cashier's line on the till screen.
	Screen string
	// Short is the name a report or receipt prints.
	Short string
	// Conflict is the manager's words for a conflict of this reason, where
	// they differ from Short ("" when they do not).
	Conflict string
}

// Langs are the languages there are words for.
var Langs = []string{"en", "zh"}

var catalogues = map[string]map[string]Words{"en": en, "zh": zh}

// For is the words for reason code in lang ("zh" or "en"; anything else is
// en), and whether there are any.
func For(lang, code string) (Words, bool) {
	c, ok := catalogues[lang]
	if !ok {
		c = en
	}
	w, ok := c[code]
	return w, ok
}

// Screen is the cashier's line for code in lang ("" when there is none).
func Screen(lang, code string) string {
	w, _ := For(lang, code)
	return w.Screen
}

// Short is the report's name for code in lang: the code itself when there
// is none, so a reason added later still shows.
func Short(lang, code string) string {
	if w, ok := For(lang, code); ok && w.Short != "" {
		return w.Short
	}
	return code
}

// Conflict is the manager's words for a conflict of reason code: its own
// words where a conflict needs them, else Short's.
func Conflict(lang, code string) string {
	if w, ok := For(lang, code); ok && w.Conflict != "" {
		return w.Conflict
	}
	return Short(lang, code)
}

// Codes are the reason codes with words, in the order of package sync's
// constants.
func Codes() []string { return append([]string(nil), codes...) }

var codes = []string{"ok", "confirmed_by_query", "accepted_offline", "already_used", "used_here", "expired", "not_yet_valid", "gifting", "gift_timeout", "gifted", "deleted", "unavailable", "unknown_code", "invalid_code", "card_status", "marked", "time_restricted", "not_consumable", "config", "rejected", "duplicate_read", "in_doubt", "conflict", "offline_refused", "offline_shift_limit", "offline_too_long", "offline_card", "offline_unknown_code", "offline_known_bad", "offline_journal_full", "no_shift", "offline_not_a_code", "cancelled", "interrupted"}

var en = map[string]Words{
	"ok":                   {Screen: "Redeemed", Short: "Consumed"},
	"confirmed_by_query":   {Screen: "Redeemed — confirmed by WeChat after its answer was lost", Short: "Consumed (by query)"},
	"accepted_offline":     {Screen: "Accepted offline — will be checked later", Short: "Accepted offline"},
	"already_used":         {Screen: "Already used", Short: "Already used", Conflict: "Already used elsewhere"},
	"used_here":            {Screen: "Already redeemed at this till", Short: "Used at this till"},
	"expired":              {Screen: "Expired", Short: "Expired", Conflict: "Had expired"},
	"not_yet_valid":        {Screen: "Not valid yet", Short: "Not valid yet"},
	"gifting":              {Screen: "Being given to a friend — ask the customer to finish or cancel", Short: "Being given away", Conflict: "Was being given to a friend"},
	"gift_timeout":         {Screen: "Gift timed out — ask the customer to reopen the card", Short: "Gift timed out", Conflict: "Gift had timed out"},
	"gifted":               {Screen: "Given away to someone else", Short: "Given away"},
	"deleted":              {Screen: "Deleted by the customer", Short: "Deleted by customer", Conflict: "Deleted by the customer"},
	"unavailable":          {Screen: "Not usable (disabled by the merchant)", Short: "Disabled by merchant"},
	"unknown_code":         {Screen: "Not a coupon of this store", Short: "Not this store's coupon", Conflict: "Not this store's coupon"},
	"invalid_code":         {Screen: "Not a valid coupon code", Short: "Not a coupon code"},
	"card_status":          {Screen: "This card is not active — ask a manager", Short: "Card not active"},
	"marked":               {Screen: "Reserved by another till", Short: "Reserved elsewhere"},
	"time_restricted":      {Screen: "Not usable at this time of day", Short: "Wrong time of day"},
	"not_consumable":       {Screen: "WeChat says it cannot be used", Short: "Not usable (WeChat)"},
	"config":               {Screen: "Till set-up problem — call a manager", Short: "Till set-up problem"},
	"rejected":             {Screen: "Refused by WeChat", Short: "Refused by WeChat"},
	"duplicate_read":       {Screen: "Same code just scanned — ignored", Short: "Double read"},
	"in_doubt":             {Screen: "WeChat did not answer — being checked", Short: "Answer lost"},
	"conflict":             {Screen: "Accepted offline, then refused by WeChat", Short: "Conflict"},
	"offline_refused":      {Screen: "WeChat offline — this till does not accept coupons offline", Short: "Offline: not accepted"},
	"offline_shift_limit":  {Screen: "Offline limit reached — ask a manager", Short: "Offline: shift limit"},
	"offline_too_long":     {Screen: "WeChat offline too long — no more offline acceptance", Short: "Offline: too long"},
	"offline_card":         {Screen: "WeChat offline — this card is not accepted offline", Short: "Offline: card not allowed"},
	"offline_unknown_code": {Screen: "WeChat offline — unknown code not accepted offline", Short: "Offline: unknown code"},
	"offline_known_bad":    {Screen: "Known to be unusable (from the store's feed)", Short: "Offline: known unusable"},
	"offline_journal_full": {Screen: "WeChat offline — till storage full, no offline acceptance; call IT", Short: "Offline: storage full"},
	"no_shift":             {Screen: "No shift open — press F2 to open one", Short: "No shift open"},
	"offline_not_a_code":   {Screen: "WeChat offline — that is not a coupon code", Short: "Offline: not a coupon code"},
	"cancelled":            {Screen: "Cancelled by the cashier", Short: "Cancelled by cashier"},
	"interrupted":          {Screen: "Till stopped before answering — nothing redeemed, scan again", Short: "Till stopped"},
}

var zh = map[string]Words{
	"ok":                   {Screen: "核销成功", Short: "核销成功"},
	"confirmed_by_query":   {Screen: "已核销 — 应答丢失后经微信查询确认", Short: "查询确认核销"},
	"accepted_offline":     {Screen: "离线已受理 · 联网后自动核销", Short: "离线已受理"},
	"already_used":         {Screen: "已核销", Short: "已被使用", Conflict: "已在别处使用"},
	"used_here":            {Screen: "本机已核销", Short: "本机已使用"},
	"expired":              {Screen: "已过期", Short: "已过期", Conflict: "已过期"},
	"not_yet_valid":        {Screen: "未到使用时间", Short: "未到生效时间"},
	"gifting":              {Screen: "转赠中，请顾客完成或取消转赠", Short: "转赠中", Conflict: "当时正在转赠"},
	"gift_timeout":         {Screen: "转赠超时，请顾客重新打开卡券", Short: "转赠超时", Conflict: "转赠已超时"},
	"gifted":               {Screen: "已转赠给他人", Short: "已转赠"},
	"deleted":              {Screen: "顾客已删除该券", Short: "顾客已删除", Conflict: "已被顾客删除"},
	"unavailable":          {Screen: "卡券不可用", Short: "商户已停用"},
	"unknown_code":         {Screen: "非本店卡券 / 无效券码", Short: "非本店卡券", Conflict: "非本店卡券"},
	"invalid_code":         {Screen: "无效券码", Short: "无效券码"},
	"card_status":          {Screen: "卡券未生效 — 请找店长", Short: "卡券未生效"},
	"marked":               {Screen: "已被其他收银台占用", Short: "他处占用中"},
	"time_restricted":      {Screen: "当前时段不可用", Short: "不在可用时段"},
	"not_consumable":       {Screen: "微信显示不可核销", Short: "微信称不可用"},
	"config":               {Screen: "收银台配置问题 — 请找店长", Short: "收银台配置问题"},
	"rejected":             {Screen: "微信拒绝", Short: "微信拒绝"},
	"duplicate_read":       {Screen: "重复扫码，已忽略", Short: "重复读码"},
	"in_doubt":             {Screen: "微信未回复，正在核实", Short: "应答丢失"},
	"conflict":             {Screen: "离线受理后被微信拒绝", Short: "冲突"},
	"offline_refused":      {Screen: "微信离线 — 本收银台不离线受理", Short: "离线：不受理"},
	"offline_shift_limit":  {Screen: "已达离线受理上限 — 请找店长", Short: "离线：超过班次上限"},
	"offline_too_long":     {Screen: "微信离线太久 — 不再离线受理", Short: "离线：时间过长"},
	"offline_card":         {Screen: "微信离线 — 此券不支持离线受理", Short: "离线：此券不支持"},
	"offline_unknown_code": {Screen: "微信离线 — 未知券码不离线受理", Short: "离线：未知券码"},
	"offline_known_bad":    {Screen: "已知不可用（门店同步）", Short: "离线：已知不可用"},
	"offline_journal_full": {Screen: "微信离线 — 本机存储已满，不再离线受理；请联系IT", Short: "离线：存储已满"},
	"no_shift":             {Screen: "未开班 — 按 F2 开班", Short: "未开班"},
	"offline_not_a_code":   {Screen: "微信离线 — 这不是卡券码", Short: "离线：不是券码"},
	"cancelled":            {Screen: "收银员已取消", Short: "收银员取消"},
	"interrupted":          {Screen: "收银台未及应答即中断 — 未核销，请重新扫码", Short: "收银台中断"},
}
