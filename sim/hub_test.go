package sim

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"

	"cardtill/hub"
	"cardtill/sync"
	"cardtill/wechat"
)

// hubSide is the store's HQ: the real hub (its own bbolt file, the push
// receiver, the code-status feed) on loopback. The simulation plays
// WeChat's part of pushing events: a card handed to a customer
// (user_get_card), and every status change the fake WeChat went through
// (consumed by a till or elsewhere, deleted, being gifted). Tills pull the
// feed through their own link after a drain that reached WeChat, as Run
// does, so offline decisions see codes the hub knows.
type hubSide struct {
	store  hub.Store
	srv    *httptest.Server
	codec  *wechat.PushCodec
	keys   map[string]string // terminal -> key
	pushed map[string]string // code -> the last status pushed
	hc     *http.Client
}

func (w *world) openHub(dir string) {
	st, err := hub.OpenStore(filepath.Join(dir, "hub.db"), hub.StoreOptions{Now: w.clk.Now})
	if err != nil {
		w.tb.Fatal(err)
	}
	codec, err := wechat.NewPushCodec(wechat.PushConfig{Token: "simpushtoken", Now: w.clk.Now})
	if err != nil {
		w.tb.Fatal(err)
	}
	hs, err := hub.NewServer(hub.Options{Push: codec, Store: st, Now: w.clk.Now})
	if err != nil {
		w.tb.Fatal(err)
	}
	h := &hubSide{store: st, codec: codec, srv: httptest.NewServer(hs.Handler()), keys: map[string]string{},
		pushed: map[string]string{}, hc: &http.Client{Transport: &http.Transport{}}}
	w.tb.Cleanup(func() {
		h.hc.CloseIdleConnections()
		h.srv.Close()
		_ = st.Close()
	})
	for _, name := range []string{"till-1", "till-2"} {
		h.keys[name] = hub.NewTerminalKey()
		if err := st.AddTerminal(name, h.keys[name]); err != nil {
			w.tb.Fatal(err)
		}
	}
	w.hub = h
}

// feed is the engine's view of the hub (what cmd/cardtill wires too).
type feed struct{ c *hub.Client }

func (f feed) Changes(ctx context.Context, cursor string) (sync.FeedPage, error) {
	page, err := f.c.Changes(ctx, cursor)
	if err != nil {
		return sync.FeedPage{}, err
	}
	out := sync.FeedPage{Next: page.Next, More: page.More}
	for _, c := range page.Changes {
		out.Changes = append(out.Changes, sync.CodeChange{Code: c.Code, CardID: c.CardID, Status: c.Status, At: c.At})
	}
	return out, nil
}

func (w *world) feedFor(t *till, hc *http.Client) sync.Feed {
	if w.hub == nil {
		return nil
	}
	return feed{hub.NewClient(hub.ClientOptions{URL: w.hub.srv.URL, TerminalKey: w.hub.keys[t.name], HTTPClient: hc})}
}

// events by the status WeChat would push for.
var pushEvent = map[string]string{
	"NORMAL":   wechat.EventUserGetCard,
	"CONSUMED": wechat.EventUserConsumeCard,
	"DELETE":   wechat.EventUserDelCard,
	"GIFTING":  wechat.EventUserGiftingCard,
}

// pushChanges pushes to the hub every status change of the fake's codes
// since the last call, as WeChat would (each once; the hub stores it before
// it answers "success").
func (w *world) pushChanges() {
	h := w.hub
	if h == nil {
		return
	}
	for _, code := range w.order {
		row, ok := w.srv.Code(code)
		if !ok {
			continue
		}
		st := string(row.Status)
		ev := pushEvent[st]
		if ev == "" || h.pushed[code] == st {
			continue
		}
		h.pushed[code] = st
		msg := fmt.Sprintf("<xml><ToUserName><![CDATA[gh_simstore]]></ToUserName><FromUserName><![CDATA[%s]]></FromUserName>"+
			"<CreateTime>%d</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[%s]]></Event>"+
			"<CardId><![CDATA[%s]]></CardId><UserCardCode><![CDATA[%s]]></UserCardCode></xml>",
			row.OpenID, w.clk.Now().Unix(), ev, row.CardID, code)
		req, err := h.codec.NewPushRequest(context.Background(), h.srv.URL+hub.PathPush, wechat.ModePlain, []byte(msg))
		if err != nil {
			w.fatal("seal a push: %v", err)
		}
		resp, err := h.hc.Do(req)
		if err != nil {
			w.fatal("push %s of %s to the hub: %v", ev, code, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "success" {
			w.fatal("the hub answered the push of %s of %s: %d %q", ev, code, resp.StatusCode, body)
		}
	}
}

// pullFeed pulls the hub's feed into t's code-status cache, as Run does
// after a drain while WeChat is reachable.
func (w *world) pullFeed(ctx context.Context, t *till) {
	if w.hub == nil || !t.p.eng.Status().Online {
		return
	}
	if err := t.p.eng.PullFeed(ctx); err != nil && !t.p.isDead() && !t.linkDown {
		w.fatal("%s pulls the hub's feed: %v", t.name, err)
	}
}
