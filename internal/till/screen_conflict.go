package till

import (
	"cardtill/report"
	"cardtill/store"
	"cardtill/tui"
)

// feedWords are the code-status feed's statuses in words.
var feedWords = map[string]map[string]string{
	"en": {"NORMAL": "usable", "CONSUMED": "used", "DELETE": "deleted by the customer", "GIFTING": "being given away",
		"GIFTED": "given away", "GIFT_TIMEOUT": "gift timed out", "EXPIRE": "expired", "UNAVAILABLE": "disabled"},
	"zh": {"NORMAL": "可用", "CONSUMED": "已核销", "DELETE": "顾客已删除", "GIFTING": "转赠中",
		"GIFTED": "已转赠", "GIFT_TIMEOUT": "转赠超时", "EXPIRE": "已过期", "UNAVAILABLE": "已停用"},
}

// ConflictDetail is the till screen's ConflictDetail hook: one conflict
// from the journal (store.Conflict), WeChat's refusal in words
// (report.ConflictWords), and what the code-status cache (the hub's feed,
// or WeChat's own answer) says of the code now.
func ConflictDetail(db *store.DB) func(id uint64, lang string) (tui.ConflictDetail, error) {
	return func(id uint64, lang string) (tui.ConflictDetail, error) {
		e, err := db.Conflict(id)
		if err != nil {
			return tui.ConflictDetail{}, err
		}
		title := e.CardTitle
		if title == "" && e.CardID != "" {
			if c, ok, _ := db.Card(e.CardID); ok {
				title = c.Title
			}
		}
		d := tui.ConflictDetail{ID: e.ID, Code: e.Code, CardID: e.CardID, CardTitle: title, Cashier: e.Cashier, ShiftID: e.ShiftID,
			ScannedAt: e.ScannedAt, AcceptedAt: e.AcceptedAt, At: e.At,
			Refusal: report.ConflictWords(lang, report.ConflictLine{ReasonCode: e.Reason, Errcode: e.Errcode})}
		if cs, ok, err := db.CodeStatus(e.Code); err == nil && ok && cs.At.After(e.At) {
			d.Feed, d.FeedAt = cs.Status, cs.At
			if w, ok := feedWords[lang][cs.Status]; ok {
				d.Feed = w
			}
		}
		if r := e.Resolution; r != nil {
			d.Resolution = &tui.ConflictResolution{By: r.By, At: r.At, Note: r.Note}
		}
		return d, nil
	}
}

// ResolveConflict is the till screen's ResolveConflict hook.
func ResolveConflict(db *store.DB) func(id uint64, by, note string) error {
	return func(id uint64, by, note string) error {
		_, err := db.ResolveConflict(id, by, note)
		return err
	}
}
