// Package wechattest is a fake WeChat: a real HTTP server on loopback
// (httptest) that answers the token, stable_token, card/code/get,
// card/code/consume, card/code/decrypt and card/get endpoints the way
// WeChat does, for tests, the demo and simulations.
//
// It owns a table of codes and cards, access tokens that expire and that
// replace each other as WeChat's do (cgi-bin/token, and stable_token with
// force_refresh, issue a new token; the one it replaced keeps working for a
// grace period, five minutes by default, then answers 40001; stable_token in
// normal mode answers the latest valid token and replaces nothing;
// force_refresh is limited to 20 a day, 30 s apart, then 45033), a counter
// of every consume it applied (so a test can assert "exactly once"), fault
// injection per endpoint and per call (latency, HTTP 5xx, any errcode,
// connection dropped before or after a consume was applied), an outage
// switch, and its own reversible encryption for encrypt_code.
//
// Using it:
//
//	srv := wechattest.New()            // or New(WithClock(clock))
//	defer srv.Close()
//	srv.LoadDemo()                     // or AddCard/AddCode
//	c, _ := wechat.New(wechat.Options{BaseURL: srv.URL,
//		Tokens: wechat.NewStableTokenSource(wechat.StableTokenOptions{
//			BaseURL: srv.URL, AppID: srv.AppID, Secret: srv.Secret})})
//	srv.Inject(wechattest.EndpointConsume, wechattest.Fault{DropAfter: true})
//	_, err := c.Consume(ctx, "", wechattest.DemoNormal) // ErrOutcomeUnknown
//	srv.ConsumeCount(wechattest.DemoNormal)             // 1
//
// It is safe for concurrent use (several tills may share one server). It
// must never be used outside tests and the demo: it checks nothing a real
// attacker could not forge.
package wechattest
