package dashboard

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/text/language"
)

// The pages' words in English and Chinese. A key missing in one language
// fails TestCatalogueComplete.
var catalogue = map[string]map[string]string{
	"en": {
		"title":          "cardtill HQ",
		"lang_other":     "中文",
		"login":          "Log in",
		"logout":         "Log out",
		"account":        "Account",
		"password":       "Password",
		"tills":          "Tills",
		"conflicts":      "Conflicts",
		"days":           "Days",
		"err_login":      "Wrong account or password.",
		"err_paused":     "Too many failed logins: try again in %s.",
		"err_store":      "The hub cannot read its store now: try again shortly.",
		"err_csrf":       "This form has expired or did not come from this dashboard: nothing was changed. Reload the page and try again.",
		"err_session":    "You are not logged in (or your session ended): nothing was changed.",
		"err_nofleet":    "This hub's store keeps no fleet reports.",
		"err_read":       "The hub cannot read its reports now.",
		"err_notfound":   "No such conflict.",
		"err_note":       "Write what was done (a note) before resolving.",
		"err_resolved":   "This conflict was resolved already.",
		"store":          "Store",
		"till":           "Till",
		"version":        "Version",
		"status":         "Status",
		"online":         "online",
		"offline_since":  "offline since %s",
		"last_report":    "Last report",
		"queue":          "Queue",
		"oldest":         "oldest %s",
		"open_conflicts": "Open conflicts",
		"journal":        "Journal",
		"marks":          "Needs a look",
		"never":          "never reported",
		"silent":         "silent for %s",
		"queue_old":      "codes queued for %s",
		"no_tills":       "No till has reported yet.",
		"ago":            "%s ago",
		"open_only":      "Open only",
		"all":            "All",
		"code":           "Code",
		"card":           "Card",
		"cashier":        "Cashier",
		"scanned":        "Scanned",
		"reason":         "Reason",
		"resolution":     "Resolution",
		"open":           "open",
		"resolved_by":    "resolved by %s at %s",
		"at_hq":          "at HQ",
		"unheard":        "the till has not heard yet",
		"no_conflicts":   "No conflicts.",
		"detail":         "Detail",
		"note":           "Note",
		"resolve":        "Resolve",
		"resolved_ok":    "Resolved. The till shows it after its next exchange with the hub.",
		"back":           "Back",
		"from":           "From",
		"to":             "To",
		"show":           "Show",
		"all_stores":     "All stores",
		"csv":            "CSV",
		"date":           "Date",
		"scans":          "Scans",
		"consumed":       "Redeemed",
		"offline_share":  "Offline",
		"by_hour":        "Scans by hour",
		"by_card":        "By card",
		"no_days":        "No closed shift in these days.",
		"errcode":        "WeChat errcode",
		"wechat_status":  "WeChat status",
		"shift":          "Shift",
		"accepted":       "Accepted offline",
	},
	"zh": {
		"title":          "cardtill 总部",
		"lang_other":     "English",
		"login":          "登录",
		"logout":         "退出登录",
		"account":        "账号",
		"password":       "密码",
		"tills":          "收银台",
		"conflicts":      "冲突",
		"days":           "每日",
		"err_login":      "账号或密码错误。",
		"err_paused":     "登录失败次数过多：请 %s 后再试。",
		"err_store":      "总部服务器暂时无法读取数据，请稍后再试。",
		"err_csrf":       "此表单已过期或并非来自本后台：未做任何更改。请刷新页面后重试。",
		"err_session":    "您尚未登录（或会话已结束）：未做任何更改。",
		"err_nofleet":    "此总部服务器的存储不保存收银台上报。",
		"err_read":       "总部服务器暂时无法读取上报。",
		"err_notfound":   "没有这个冲突。",
		"err_note":       "请先填写处理说明，再标记为已处理。",
		"err_resolved":   "此冲突已经处理过了。",
		"store":          "门店",
		"till":           "收银台",
		"version":        "版本",
		"status":         "状态",
		"online":         "在线",
		"offline_since":  "自 %s 起离线",
		"last_report":    "最后上报",
		"queue":          "排队",
		"oldest":         "最早 %s",
		"open_conflicts": "未处理冲突",
		"journal":        "日志占用",
		"marks":          "需要关注",
		"never":          "从未上报",
		"silent":         "已失联 %s",
		"queue_old":      "核销码排队已 %s",
		"no_tills":       "还没有收银台上报。",
		"ago":            "%s 前",
		"open_only":      "仅未处理",
		"all":            "全部",
		"code":           "券码",
		"card":           "卡券",
		"cashier":        "收银员",
		"scanned":        "扫码时间",
		"reason":         "原因",
		"resolution":     "处理",
		"open":           "未处理",
		"resolved_by":    "%s 于 %s 处理",
		"at_hq":          "总部",
		"unheard":        "收银台尚未收到",
		"no_conflicts":   "没有冲突。",
		"detail":         "详情",
		"note":           "处理说明",
		"resolve":        "标记为已处理",
		"resolved_ok":    "已处理。收银台下次与总部通信后会显示为已处理。",
		"back":           "返回",
		"from":           "从",
		"to":             "到",
		"show":           "查看",
		"all_stores":     "全部门店",
		"csv":            "导出 CSV",
		"date":           "日期",
		"scans":          "扫码",
		"consumed":       "已核销",
		"offline_share":  "离线占比",
		"by_hour":        "每小时扫码",
		"by_card":        "按卡券",
		"no_days":        "这些天没有已交班的班次。",
		"errcode":        "微信错误码",
		"wechat_status":  "微信状态",
		"shift":          "班次",
		"accepted":       "离线接受",
	},
}

// tr is key in lang (the key itself when missing: a test fails then).
func tr(lang, key string) string {
	if s, ok := catalogue[lang][key]; ok {
		return s
	}
	return key
}

func trf(lang, key string, a ...any) string { return fmt.Sprintf(tr(lang, key), a...) }

func itoa(n int) string { return strconv.Itoa(n) }

var langMatcher = language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese})

// langOf is the switch's cookie, else the browser's Accept-Language.
func langOf(r *http.Request) string {
	if c, err := r.Cookie(cookieLang); err == nil && (c.Value == "zh" || c.Value == "en") {
		return c.Value
	}
	tags, _, _ := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if len(tags) == 0 {
		return "en"
	}
	_, i, _ := langMatcher.Match(tags...)
	if i == 1 {
		return "zh"
	}
	return "en"
}

// switchLang handles ?lang=zh|en on a GET: the choice goes into a cookie
// and the page is shown again without the parameter. A preference, not a
// change of anything kept, so a GET.
func (d *Dashboard) switchLang(w http.ResponseWriter, r *http.Request) bool {
	l := r.URL.Query().Get("lang")
	if l != "zh" && l != "en" {
		return false
	}
	http.SetCookie(w, d.cookie(cookieLang, l, 365*24*time.Hour))
	q := r.URL.Query()
	q.Del("lang")
	u := *r.URL
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
	return true
}
