package wechat

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	stdsync "sync"
)

// Card event names pushed by WeChat (seed 000, "Card and coupon event push").
const (
	EventCardPassCheck            = "card_pass_check"
	EventCardNotPassCheck         = "card_not_pass_check"
	EventUserGetCard              = "user_get_card"
	EventUserGiftingCard          = "user_gifting_card"
	EventUserDelCard              = "user_del_card"
	EventUserConsumeCard          = "user_consume_card"
	EventUserPayFromPayCell       = "user_pay_from_pay_cell"
	EventUserViewCard             = "user_view_card"
	EventUserEnterSessionFromCard = "user_enter_session_from_card"
	EventUpdateMemberCard         = "update_member_card"
	EventCardSkuRemind            = "card_sku_remind"
	EventCardPayOrder             = "card_pay_order"
	EventSubmitMembercardUserInfo = "submit_membercard_user_info"
)

// Event is one decoded push. Its concrete type is one of the card event
// records below (*UserGetCard, *UserConsumeCard, ...) or *UnknownEvent for
// anything else WeChat sends to the URL. Every record embeds Header, so
// nothing of the push is lost: Raw holds the plaintext XML exactly as
// received and Unknown every element the record has no field for.
type Event interface {
	// Head returns the fields every push has, plus Raw and Unknown.
	Head() *Header
}

// Header holds the fields common to every push, the two card fields most
// events carry, and what the typed record could not hold.
type Header struct {
	ToUserName   string `xml:"ToUserName" json:"to_user_name"`
	FromUserName string `xml:"FromUserName" json:"from_user_name"`
	CreateTime   int64  `xml:"CreateTime" json:"create_time"`
	MsgType      string `xml:"MsgType" json:"msg_type"`
	Event        string `xml:"Event" json:"event,omitempty"`
	CardID       string `xml:"CardId" json:"card_id,omitempty"`
	UserCardCode string `xml:"UserCardCode" json:"user_card_code,omitempty"`

	// Unknown maps each element the record has no field for (or whose value
	// does not fit the field's type) to its text, or to its inner XML when
	// it has child elements. A repeated element keeps its first value here;
	// Raw has them all.
	Unknown map[string]string `xml:"-" json:"unknown,omitempty"`
	// Raw is the plaintext event XML as received (decrypted in safe mode).
	Raw []byte `xml:"-" json:"-"`
}

// Head returns h itself.
func (h *Header) Head() *Header { return h }

// DedupKey identifies a push across WeChat's retries:
// FromUserName+CreateTime+Event+CardId+UserCardCode (batch-added cards share
// the first two). A plain message (no Event) adds its MsgId, which WeChat
// gives for that purpose. The parts are joined by NUL, which XML text
// cannot hold.
func (h *Header) DedupKey() string {
	parts := []string{h.FromUserName, strconv.FormatInt(h.CreateTime, 10), h.Event, h.CardID, h.UserCardCode}
	if id := h.Unknown["MsgId"]; h.Event == "" && id != "" {
		parts = append(parts, id)
	}
	return strings.Join(parts, "\x00")
}

// CardPassCheck: the card type passed review.
type CardPassCheck struct {
	Header
	RefuseReason string `xml:"RefuseReason" json:"refuse_reason,omitempty"`
}

// CardNotPassCheck: the card type failed review; RefuseReason says why.
type CardNotPassCheck struct {
	Header
	RefuseReason string `xml:"RefuseReason" json:"refuse_reason,omitempty"`
}

// UserGetCard: a user received a code. After a gift, OldUserCardCode is the
// code before the transfer (WeChat changes the code).
type UserGetCard struct {
	Header
	IsGiveByFriend      int    `xml:"IsGiveByFriend" json:"is_give_by_friend"`
	FriendUserName      string `xml:"FriendUserName" json:"friend_user_name,omitempty"`
	OldUserCardCode     string `xml:"OldUserCardCode" json:"old_user_card_code,omitempty"`
	OuterStr            string `xml:"OuterStr" json:"outer_str,omitempty"`
	OuterID             int64  `xml:"OuterId" json:"outer_id"`
	IsRestoreMemberCard int    `xml:"IsRestoreMemberCard" json:"is_restore_member_card"`
	IsRecommendByFriend int    `xml:"IsRecommendByFriend" json:"is_recommend_by_friend"`
}

// UserGiftingCard: a user is giving the code to FriendUserName; the code
// will change.
type UserGiftingCard struct {
	Header
	IsReturnBack   int    `xml:"IsReturnBack" json:"is_return_back"`
	FriendUserName string `xml:"FriendUserName" json:"friend_user_name,omitempty"`
	IsChatRoom     int    `xml:"IsChatRoom" json:"is_chat_room"`
}

// UserDelCard: a user deleted the card.
type UserDelCard struct {
	Header
}

// UserConsumeCard: a code was written off.
type UserConsumeCard struct {
	Header
	// ConsumeSource is FROM_API, FROM_MP or FROM_MOBILE_HELPER.
	ConsumeSource string `xml:"ConsumeSource" json:"consume_source,omitempty"`
	LocationName  string `xml:"LocationName" json:"location_name,omitempty"`
	StaffOpenID   string `xml:"StaffOpenId" json:"staff_open_id,omitempty"`
	VerifyCode    string `xml:"VerifyCode" json:"verify_code,omitempty"`
	RemarkAmount  string `xml:"RemarkAmount" json:"remark_amount,omitempty"`
	OuterStr      string `xml:"OuterStr" json:"outer_str,omitempty"`
}

// UserPayFromPayCell: the user paid through the card's pay cell. Fees are
// in fen (cents).
type UserPayFromPayCell struct {
	Header
	TransID     string `xml:"TransId" json:"trans_id,omitempty"`
	LocationID  string `xml:"LocationId" json:"location_id,omitempty"`
	Fee         int64  `xml:"Fee" json:"fee"`
	OriginalFee int64  `xml:"OriginalFee" json:"original_fee"`
}

// UserViewCard: the user opened a member card.
type UserViewCard struct {
	Header
	OuterStr string `xml:"OuterStr" json:"outer_str,omitempty"`
}

// UserEnterSessionFromCard: the user entered the official account's chat
// from the card.
type UserEnterSessionFromCard struct {
	Header
}

// UpdateMemberCard: the member card's points or balance changed.
type UpdateMemberCard struct {
	Header
	ModifyBonus   int64 `xml:"ModifyBonus" json:"modify_bonus"`
	ModifyBalance int64 `xml:"ModifyBalance" json:"modify_balance"`
}

// CardSkuRemind: stock alarm (initial stock over 200, now 100 or less).
type CardSkuRemind struct {
	Header
	Detail string `xml:"Detail" json:"detail,omitempty"`
}

// CardPayOrder: the merchant's coupon-point (券点) account changed.
type CardPayOrder struct {
	Header
	OrderID             string `xml:"OrderId" json:"order_id,omitempty"`
	Status              string `xml:"Status" json:"status,omitempty"`
	CreateOrderTime     int64  `xml:"CreateOrderTime" json:"create_order_time"`
	PayFinishTime       int64  `xml:"PayFinishTime" json:"pay_finish_time"`
	Desc                string `xml:"Desc" json:"desc,omitempty"`
	FreeCoinCount       int64  `xml:"FreeCoinCount" json:"free_coin_count"`
	PayCoinCount        int64  `xml:"PayCoinCount" json:"pay_coin_count"`
	RefundFreeCoinCount int64  `xml:"RefundFreeCoinCount" json:"refund_free_coin_count"`
	RefundPayCoinCount  int64  `xml:"RefundPayCoinCount" json:"refund_pay_coin_count"`
	OrderType           string `xml:"OrderType" json:"order_type,omitempty"`
	Memo                string `xml:"Memo" json:"memo,omitempty"`
	ReceiptInfo         string `xml:"ReceiptInfo" json:"receipt_info,omitempty"`
}

// SubmitMembercardUserInfo: the user submitted member-card activation info.
type SubmitMembercardUserInfo struct {
	Header
}

// UnknownEvent is any push without a typed record: a card event this
// package does not know yet, or a plain message. Every element beyond the
// Header's is in Unknown.
type UnknownEvent struct {
	Header
}

// newEvent returns an empty record for an Event name.
func newEvent(name string) Event {
	switch name {
	case EventCardPassCheck:
		return &CardPassCheck{}
	case EventCardNotPassCheck:
		return &CardNotPassCheck{}
	case EventUserGetCard:
		return &UserGetCard{}
	case EventUserGiftingCard:
		return &UserGiftingCard{}
	case EventUserDelCard:
		return &UserDelCard{}
	case EventUserConsumeCard:
		return &UserConsumeCard{}
	case EventUserPayFromPayCell:
		return &UserPayFromPayCell{}
	case EventUserViewCard:
		return &UserViewCard{}
	case EventUserEnterSessionFromCard:
		return &UserEnterSessionFromCard{}
	case EventUpdateMemberCard:
		return &UpdateMemberCard{}
	case EventCardSkuRemind:
		return &CardSkuRemind{}
	case EventCardPayOrder:
		return &CardPayOrder{}
	case EventSubmitMembercardUserInfo:
		return &SubmitMembercardUserInfo{}
	}
	return &UnknownEvent{}
}

// xmlElem is one child of the root element.
type xmlElem struct {
	XMLName  xml.Name
	Text     string `xml:",chardata"`
	Inner    string `xml:",innerxml"`
	Children []struct {
		XMLName xml.Name
	} `xml:",any"`
}

// xmlDoc is the root element of a push: <xml>...</xml>.
type xmlDoc struct {
	XMLName xml.Name
	Elems   []xmlElem `xml:",any"`
}

// value is the element's text (CDATA or not), trimmed, or its inner XML
// when it has children.
func (e *xmlElem) value() string {
	if len(e.Children) > 0 {
		return strings.TrimSpace(e.Inner)
	}
	return strings.TrimSpace(e.Text)
}

// decodeDoc parses a push document: one <xml> root and nothing after it but
// whitespace, comments or processing instructions.
func decodeDoc(data []byte) (*xmlDoc, error) {
	if bytes.IndexByte(data, '<') < 0 {
		return nil, fmt.Errorf("%w: %s", ErrPushMalformed, notXML(data))
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	var doc xmlDoc
	if err := d.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: %s", ErrPushMalformed, notXML(data))
		}
		return nil, fmt.Errorf("%w: %v", ErrPushMalformed, err)
	}
	if doc.XMLName.Local != "xml" {
		return nil, fmt.Errorf("%w: root element is <%s>, want <xml>", ErrPushMalformed, doc.XMLName.Local)
	}
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: after </xml>: %v", ErrPushMalformed, err)
		}
		switch t := tok.(type) {
		case xml.Comment, xml.ProcInst:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, fmt.Errorf("%w: text after </xml>", ErrPushMalformed)
			}
		default:
			return nil, fmt.Errorf("%w: content after </xml>", ErrPushMalformed)
		}
	}
	return &doc, nil
}

// field returns the first element named name.
func (doc *xmlDoc) field(name string) (string, bool) {
	for i := range doc.Elems {
		if doc.Elems[i].XMLName.Local == name {
			return doc.Elems[i].value(), true
		}
	}
	return "", false
}

// ParseEvent decodes a plaintext push (<xml>...</xml>) into its typed
// record. ToUserName, FromUserName, CreateTime and MsgType are required;
// everything else is optional. Errors wrap ErrPushMalformed.
func ParseEvent(data []byte) (Event, error) {
	doc, err := decodeDoc(data)
	if err != nil {
		return nil, err
	}
	for _, name := range []string{"ToUserName", "FromUserName", "CreateTime", "MsgType"} {
		if _, ok := doc.field(name); !ok {
			return nil, fmt.Errorf("%w: <%s> is missing", ErrPushMalformed, name)
		}
	}
	name, _ := doc.field("Event")
	ev := newEvent(name)
	rv := reflect.ValueOf(ev).Elem()
	fields := fieldsOf(rv.Type())
	seen := make(map[string]bool, len(doc.Elems))
	h := ev.Head()
	for i := range doc.Elems {
		e := &doc.Elems[i]
		key := e.XMLName.Local
		if seen[key] {
			continue // Raw keeps repeats; the first one wins
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok || len(e.Children) > 0 || !setField(rv.FieldByIndex(idx), e.value()) {
			if key == "CreateTime" {
				return nil, fmt.Errorf("%w: <CreateTime> %q is not a unix time", ErrPushMalformed, clip(e.value()))
			}
			if h.Unknown == nil {
				h.Unknown = make(map[string]string)
			}
			h.Unknown[key] = e.value()
		}
	}
	h.Raw = bytes.Clone(data)
	return ev, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

// setField stores s in a string or integer field; it reports false when s
// does not fit (the caller then keeps s in Unknown).
func setField(f reflect.Value, s string) bool {
	switch f.Kind() {
	case reflect.String:
		f.SetString(s)
		return true
	case reflect.Int, reflect.Int64:
		if s == "" {
			return true
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || f.OverflowInt(n) {
			return false
		}
		f.SetInt(n)
		return true
	}
	return false
}

// fieldCache maps a record type to its XML element names and field indexes.
var fieldCache stdsync.Map // reflect.Type -> map[string][]int

func fieldsOf(t reflect.Type) map[string][]int {
	if m, ok := fieldCache.Load(t); ok {
		return m.(map[string][]int)
	}
	m := make(map[string][]int)
	for _, f := range reflect.VisibleFields(t) {
		tag := f.Tag.Get("xml")
		if tag == "" || tag == "-" || f.Anonymous {
			continue
		}
		m[tag] = f.Index
	}
	fieldCache.Store(t, m)
	return m
}

// notXML says what a body without any XML element is, without quoting it
// (it may be anything a stranger posted).
func notXML(data []byte) string {
	t := bytes.TrimSpace(data)
	switch {
	case len(t) == 0:
		return "empty body"
	case t[0] == '{' || t[0] == '[':
		return fmt.Sprintf("the body (%d bytes) looks like JSON, not XML: WeChat pushes <xml>...</xml>", len(data))
	case bytes.IndexByte(t, '=') > 0:
		return fmt.Sprintf("the body (%d bytes) looks like form data, not XML: WeChat pushes <xml>...</xml>", len(data))
	}
	return fmt.Sprintf("the body (%d bytes) is not XML (no element in it): WeChat pushes <xml>...</xml>", len(data))
}
