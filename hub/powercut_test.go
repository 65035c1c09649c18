//go:build linux

package hub

import (
	"path/filepath"
	"testing"
	"time"

	"cardtill/internal/powercut"
	"cardtill/wechat"
)

// TestPowerCutNewStore: the first push a new hub file stored survives a
// power cut. bbolt syncs the new file but not its name, so before
// OpenStore synced the folders the cut took the whole file and every push
// answered "success" (found by TestPowerCut/hub in cmd/cardtill).
func TestPowerCutNewStore(t *testing.T) {
	t.Parallel()
	pc := powercut.Mount(t)
	path := filepath.Join(pc.Dir, "hub", "hub.db")
	s, err := OpenStore(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := `<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oU]]></FromUserName><CreateTime>1764576000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[user_consume_card]]></Event><CardId><![CDATA[pCard]]></CardId><UserCardCode><![CDATA[110201201245]]></UserCardCode></xml>`
	ev, err := wechat.ParseEvent([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddEvent(&wechat.Push{Event: ev, Mode: wechat.ModeSafe, Timestamp: time.Now().Unix(), Nonce: "n1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Cut(powercut.CutOptions{}); err != nil {
		t.Fatal(err)
	}
	s, err = OpenStore(path, StoreOptions{ReadOnly: true})
	if err != nil {
		t.Fatalf("the hub's file after the cut: %v", err)
	}
	defer s.Close()
	evs, err := s.Events(time.Time{}, 0)
	if err != nil || len(evs) != 1 {
		t.Fatalf("events after the cut: %d %v", len(evs), err)
	}
}
