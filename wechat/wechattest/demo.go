package wechattest

import (
	"time"

	"cardtill/wechat"
)

// Card ids of the demo catalogue.
const (
	DemoCardDrink  = "pDEMO_drink_20_off_0000000001" // ¥20 off any drink (GROUPON)
	DemoCardCake   = "pDEMO_cake_free_00000000002"   // Free slice of cake (GIFT)
	DemoCardCash   = "pDEMO_cash_50_over_200_00003"  // ¥50 off over ¥200 (CASH)
	DemoCardCustom = "pDEMO_custom_code_00000000004" // custom-code card (DISCOUNT)
	DemoCardMember = "pDEMO_member_gold_0000000005"  // member card (MEMBER_CARD)
)

// Codes of the demo catalogue, one per situation the till must explain.
const (
	DemoNormal       = "100000000001" // NORMAL, can be consumed
	DemoNormal2      = "100000000002" // NORMAL, a second one
	DemoNormal3      = "100000000003" // NORMAL, ¥50 cash coupon
	DemoLostAnswer   = "100000000004" // NORMAL; the demo till loses its consume's answer once (LoseConsumeAnswer)
	DemoConsumed     = "100000000010" // CONSUMED already
	DemoExpired      = "100000000020" // NORMAL but its window ended yesterday: reads EXPIRE
	DemoExpireStatus = "100000000021" // status EXPIRE
	DemoNotYetValid  = "100000000030" // NORMAL, window starts tomorrow
	DemoGifting      = "100000000040" // GIFTING
	DemoGiftTimeout  = "100000000050" // GIFT_TIMEOUT
	DemoDeleted      = "100000000060" // DELETE
	DemoUnavailable  = "100000000070" // UNAVAILABLE
	DemoUnknown      = "199999999999" // not in the table: 40056
	DemoCustom       = "CUST-8848"    // custom-code card: needs DemoCardCustom as card_id
	DemoMember       = "100000000080" // member card
	DemoEncrypted    = "100000000090" // NORMAL; scan it as Encrypt(DemoEncrypted)
)

// DemoCatalogue returns sample codes in every status and their cards, with
// validity windows around now.
func DemoCatalogue(now time.Time) ([]Code, []Card) {
	day := 24 * time.Hour
	begin, end := now.Add(-30*day), now.Add(60*day)
	cards := []Card{
		{CardID: DemoCardDrink, Title: "¥20 off any drink 任意饮品立减20元", Type: "GROUPON"},
		{CardID: DemoCardCake, Title: "Free slice of cake 免费蛋糕一块", Type: "GIFT"},
		{CardID: DemoCardCash, Title: "¥50 off over ¥200 满200减50", Type: "CASH"},
		{CardID: DemoCardCustom, Title: "15% off, staff code 员工八五折", Type: "DISCOUNT"},
		{CardID: DemoCardMember, Title: "Gold member 金卡会员", Type: "MEMBER_CARD"},
	}
	code := func(c, card string, st wechat.CardStatus, openid string) Code {
		return Code{Code: c, CardID: card, Status: st, OpenID: openid, Begin: begin, End: end}
	}
	codes := []Code{
		code(DemoNormal, DemoCardDrink, wechat.StatusNormal, "oDEMO_alice"),
		code(DemoNormal2, DemoCardCake, wechat.StatusNormal, "oDEMO_bob"),
		code(DemoNormal3, DemoCardCash, wechat.StatusNormal, "oDEMO_carol"),
		code(DemoLostAnswer, DemoCardCake, wechat.StatusNormal, "oDEMO_peggy"),
		code(DemoConsumed, DemoCardDrink, wechat.StatusConsumed, "oDEMO_dave"),
		{Code: DemoExpired, CardID: DemoCardDrink, Status: wechat.StatusNormal, OpenID: "oDEMO_erin", Begin: now.Add(-90 * day), End: now.Add(-day)},
		{Code: DemoExpireStatus, CardID: DemoCardCake, Status: wechat.StatusExpire, OpenID: "oDEMO_erin", Begin: now.Add(-90 * day), End: now.Add(-day)},
		{Code: DemoNotYetValid, CardID: DemoCardCake, Status: wechat.StatusNormal, OpenID: "oDEMO_frank", Begin: now.Add(day), End: now.Add(30 * day)},
		code(DemoGifting, DemoCardDrink, wechat.StatusGifting, "oDEMO_grace"),
		code(DemoGiftTimeout, DemoCardDrink, wechat.StatusGiftTimeout, "oDEMO_heidi"),
		code(DemoDeleted, DemoCardCash, wechat.StatusDelete, "oDEMO_ivan"),
		code(DemoUnavailable, DemoCardCash, wechat.StatusUnavailable, "oDEMO_judy"),
		{Code: DemoCustom, CardID: DemoCardCustom, Custom: true, Status: wechat.StatusNormal, OpenID: "oDEMO_mallory", Begin: begin, End: end},
		code(DemoMember, DemoCardMember, wechat.StatusNormal, "oDEMO_niaj"),
		code(DemoEncrypted, DemoCardDrink, wechat.StatusNormal, "oDEMO_olivia"),
	}
	return codes, cards
}

// LoadDemo adds the demo catalogue (windows around the server's clock).
func (s *Server) LoadDemo() {
	codes, cards := DemoCatalogue(s.now())
	for _, c := range cards {
		s.AddCard(c)
	}
	for _, c := range codes {
		s.AddCode(c)
	}
}
