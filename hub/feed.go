package hub

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"cardtill/wechat"
)

// Code statuses in the feed. All but StatusGifted are WeChat's
// user_card_status values.
const (
	StatusNormal   = "NORMAL"   // user_get_card: the code exists and is usable
	StatusDelete   = "DELETE"   // user_del_card: the user deleted it
	StatusGifting  = "GIFTING"  // user_gifting_card: being given away; its code will change
	StatusConsumed = "CONSUMED" // user_consume_card: written off
	// StatusGifted is not a WeChat status: a gift completed, WeChat replaced
	// this code by a new one (user_get_card's OldUserCardCode), so this code
	// can no longer be redeemed.
	StatusGifted = "GIFTED"
)

// CodeChange is one code's new status.
type CodeChange struct {
	Code   string    `json:"code"`
	CardID string    `json:"card_id"`
	Status string    `json:"status"` // one of the Status constants
	Event  string    `json:"event"`  // the WeChat event it comes from
	At     time.Time `json:"at"`     // the event's CreateTime
	// NewCode is the code that replaced this one (StatusGifted only).
	NewCode string `json:"new_code,omitempty"`
}

// Notice is an event a store manager should see.
type Notice struct {
	Event  string    `json:"event"` // card_sku_remind, card_pass_check, card_not_pass_check, update_member_card, card_pay_order
	CardID string    `json:"card_id,omitempty"`
	Code   string    `json:"code,omitempty"`
	At     time.Time `json:"at"`
	// Detail is the event's own text: the alarm detail, the refusal
	// reason, "bonus=3 balance=0", or the order's id, status and coin counts.
	Detail string `json:"detail,omitempty"`
}

// FeedItem is one entry of the feed: a change or a notice.
type FeedItem struct {
	Change *CodeChange `json:"change,omitempty"`
	Notice *Notice     `json:"notice,omitempty"`
	Event  uint64      `json:"event_seq"` // the stored event it came from
}

// ChangesPage is one answer of GET /v1/codes/changes.
type ChangesPage struct {
	// Changes and Notices in the order the hub received their events.
	Changes []CodeChange `json:"changes"`
	Notices []Notice     `json:"notices"`
	// Next is the cursor to pass as since next time. It is opaque; it equals
	// the cursor sent when nothing new arrived.
	Next string `json:"next"`
	// More reports that another page is waiting: ask again at once.
	More bool `json:"more"`
}

// IsNotice reports whether an event name is a managers' notice.
func IsNotice(event string) bool {
	switch event {
	case wechat.EventCardSkuRemind, wechat.EventCardPassCheck, wechat.EventCardNotPassCheck,
		wechat.EventUpdateMemberCard, wechat.EventCardPayOrder:
		return true
	}
	return false
}

// feedItems derives the feed entries of one event.
func feedItems(ev wechat.Event) []FeedItem {
	h := ev.Head()
	at := time.Unix(h.CreateTime, 0).UTC()
	change := func(code, status string) FeedItem {
		return FeedItem{Change: &CodeChange{Code: code, CardID: h.CardID, Status: status, Event: h.Event, At: at}}
	}
	notice := func(detail string) []FeedItem {
		return []FeedItem{{Notice: &Notice{Event: h.Event, CardID: h.CardID, Code: h.UserCardCode, At: at, Detail: detail}}}
	}
	switch e := ev.(type) {
	case *wechat.UserGetCard:
		var out []FeedItem
		if e.OldUserCardCode != "" && e.OldUserCardCode != e.UserCardCode {
			old := change(e.OldUserCardCode, StatusGifted)
			old.Change.NewCode = e.UserCardCode
			out = append(out, old)
		}
		if e.UserCardCode != "" {
			out = append(out, change(e.UserCardCode, StatusNormal))
		}
		return out
	case *wechat.UserDelCard:
		if e.UserCardCode != "" {
			return []FeedItem{change(e.UserCardCode, StatusDelete)}
		}
	case *wechat.UserGiftingCard:
		if e.UserCardCode != "" {
			return []FeedItem{change(e.UserCardCode, StatusGifting)}
		}
	case *wechat.UserConsumeCard:
		if e.UserCardCode != "" {
			return []FeedItem{change(e.UserCardCode, StatusConsumed)}
		}
	case *wechat.CardSkuRemind:
		return notice(e.Detail)
	case *wechat.CardPassCheck:
		return notice(e.RefuseReason)
	case *wechat.CardNotPassCheck:
		return notice(e.RefuseReason)
	case *wechat.UpdateMemberCard:
		return notice(fmt.Sprintf("bonus=%d balance=%d", e.ModifyBonus, e.ModifyBalance))
	case *wechat.CardPayOrder:
		return notice(fmt.Sprintf("order=%s status=%s type=%s free_coins=%d pay_coins=%d refund_free_coins=%d refund_pay_coins=%d memo=%s",
			e.OrderID, e.Status, e.OrderType, e.FreeCoinCount, e.PayCoinCount, e.RefundFreeCoinCount, e.RefundPayCoinCount, e.Memo))
	}
	return nil
}

// Cursors are the feed sequence in fixed-width hex, so they also sort as
// strings. "" is the start of the feed.
func encodeCursor(seq uint64) string {
	if seq == 0 {
		return ""
	}
	return fmt.Sprintf("%016x", seq)
}

// ErrBadCursor: since is not a cursor this hub gave out.
var ErrBadCursor = fmt.Errorf("bad cursor: pass back the 'next' of the previous page, or nothing to start over")

func decodeCursor(s string) (uint64, error) {
	if s == "" {
		return 0, nil
	}
	if len(s) != 16 || strings.ToLower(s) != s {
		return 0, ErrBadCursor
	}
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, ErrBadCursor
	}
	return v, nil
}

// Changes returns the feed after cursor, at most limit items.
func (s *BoltStore) Changes(cursor string, limit int) (ChangesPage, error) {
	after, err := decodeCursor(cursor)
	if err != nil {
		return ChangesPage{}, err
	}
	items, last, more, err := s.feedPage(after, limit)
	if err != nil {
		return ChangesPage{}, err
	}
	next := encodeCursor(last)
	if last == after {
		next = cursor
	}
	return buildPage(items, next, more), nil
}

// buildPage splits feed items into a page's changes and notices.
func buildPage(items []FeedItem, next string, more bool) ChangesPage {
	page := ChangesPage{Changes: []CodeChange{}, Notices: []Notice{}, Next: next, More: more}
	for _, it := range items {
		if it.Change != nil {
			page.Changes = append(page.Changes, *it.Change)
		}
		if it.Notice != nil {
			page.Notices = append(page.Notices, *it.Notice)
		}
	}
	return page
}
