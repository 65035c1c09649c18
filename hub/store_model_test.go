package hub_test

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"cardtill/hub"
	"cardtill/wechat"
)

// TestStoreAgainstModel runs random pushes (many of them retries), random
// restarts and random feed page sizes against a simple in-memory model:
// every distinct push is stored once, in order, and the feed holds exactly
// the changes and notices of the stored pushes.
func TestStoreAgainstModel(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 5; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel() // a store file of its own
			r := rand.New(rand.NewPCG(seed, 42))
			path := filepath.Join(t.TempDir(), "hub.db")
			st := openStore(t, path)
			type want struct{ kind, code, status string }
			var (
				seen   = map[string]bool{}
				events []string // dedup keys in order
				feed   []want
			)
			kinds := []string{"user_get_card", "user_del_card", "user_gifting_card", "user_consume_card", "card_sku_remind", "user_view_card"}
			for i := 0; i < 300; i++ {
				if r.IntN(40) == 0 { // restart
					if err := st.Close(); err != nil {
						t.Fatal(err)
					}
					st = openStore(t, path)
				}
				kind := kinds[r.IntN(len(kinds))]
				code := fmt.Sprintf("c%d", r.IntN(4))
				raw := fmt.Sprintf("<xml><ToUserName>gh</ToUserName><FromUserName>o%d</FromUserName><CreateTime>%d</CreateTime><MsgType>event</MsgType><Event>%s</Event><CardId>card</CardId><UserCardCode>%s</UserCardCode></xml>",
					r.IntN(2), r.IntN(5), kind, code)
				ev, err := wechat.ParseEvent([]byte(raw))
				if err != nil {
					t.Fatal(err)
				}
				key := ev.Head().DedupKey()
				_, dup, err := st.AddEvent(&wechat.Push{Event: ev, Mode: wechat.Mode(r.IntN(3))})
				if err != nil {
					t.Fatal(err)
				}
				if dup != seen[key] {
					t.Fatalf("push %d: dup = %v, model says %v", i, dup, seen[key])
				}
				if dup {
					continue
				}
				seen[key] = true
				events = append(events, key)
				switch kind {
				case "user_get_card":
					feed = append(feed, want{"change", code, hub.StatusNormal})
				case "user_del_card":
					feed = append(feed, want{"change", code, hub.StatusDelete})
				case "user_gifting_card":
					feed = append(feed, want{"change", code, hub.StatusGifting})
				case "user_consume_card":
					feed = append(feed, want{"change", code, hub.StatusConsumed})
				case "card_sku_remind":
					feed = append(feed, want{"notice", code, ""})
				}
			}
			evs, err := st.Events(zeroTime, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) != len(events) {
				t.Fatalf("%d events stored, model %d", len(evs), len(events))
			}
			// Sequences increase (PostgreSQL's leave gaps where a retry's
			// insert met the unique constraint; bbolt's do not).
			var prev uint64
			for i, e := range evs {
				p, err := e.Parsed()
				gapless := onPostgres() || e.Seq == uint64(i+1)
				if err != nil || p.Head().DedupKey() != events[i] || e.Seq <= prev || !gapless {
					t.Fatalf("event %d: %+v %v", i, e, err)
				}
				prev = e.Seq
			}
			// Read the feed in random page sizes; compare changes and notices
			// each in order (a page lists them apart).
			var got []want
			cursor := ""
			for {
				page, err := st.Changes(cursor, 1+r.IntN(7))
				if err != nil {
					t.Fatal(err)
				}
				for _, c := range page.Changes {
					got = append(got, want{"change", c.Code, c.Status})
				}
				for _, n := range page.Notices {
					got = append(got, want{"notice", n.Code, ""})
				}
				if !page.More {
					break
				}
				cursor = page.Next
			}
			split := func(ws []want) (changes, notices []want) {
				for _, w := range ws {
					if w.kind == "change" {
						changes = append(changes, w)
					} else {
						notices = append(notices, w)
					}
				}
				return changes, notices
			}
			gc, gn := split(got)
			wc, wn := split(feed)
			if len(wc) == 0 || len(wn) == 0 {
				t.Fatal("the model produced no changes or no notices: widen it")
			}
			if fmt.Sprint(gc) != fmt.Sprint(wc) || fmt.Sprint(gn) != fmt.Sprint(wn) {
				t.Fatalf("feed\n got %v\nwant %v", got, feed)
			}
		})
	}
}
