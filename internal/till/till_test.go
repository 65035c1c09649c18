package till

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/sync"
)

func TestEngineOptionsFromConfig(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.Terminal.ID = "till-2"
	cfg.Offline.AllowCards = []string{"pA"}
	cfg.WeChat.CustomCodeCards = []string{"pC"}
	cfg.Shift.DefaultCashier = "Wang Fang"
	o := EngineOptions(cfg, nil, nil)
	if o.Policy.MaxPerShift != 20 || o.Policy.MaxAge != 4*time.Hour || o.Policy.Mode != "accept" || o.Policy.AllowCards[0] != "pA" {
		t.Fatalf("policy %+v", o.Policy)
	}
	if o.Terminal != "till-2" || o.CustomCodeCards[0] != "pC" || !o.OpenShiftOnScan || o.DefaultCashier != "Wang Fang" {
		t.Fatalf("options %+v", o)
	}
	if o.QuietPeriod != 20*time.Second || o.Timeout != 4*time.Second || o.SyncTimeout != 15*time.Second || o.Concurrency != 8 {
		t.Fatalf("timing %+v", o)
	}
	cfg.Shift.OnScanWithoutShift = "ask"
	if EngineOptions(cfg, nil, nil).OpenShiftOnScan {
		t.Fatal(`on_scan_without_shift = "ask" opens shifts`)
	}
	if o.Policy.CodePattern != nil || o.ProbeInterval != sync.DefaultProbeInterval {
		t.Fatalf("default code pattern %v, probe interval %s", o.Policy.CodePattern, o.ProbeInterval)
	}
	cfg.Offline.CodePattern = `^CUST-[0-9]{4}$`
	if re := EngineOptions(cfg, nil, nil).Policy.CodePattern; re == nil || !re.MatchString("CUST-8848") || re.MatchString("452998530302") {
		t.Fatalf("code_pattern mapped to %v", re)
	}
}

func TestHubFeedAdapter(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 14, 0, 0, 0, time.UTC)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != hub.PathChanges || r.Header.Get("Authorization") != "Bearer k1" {
			http.Error(w, `{"error":"no"}`, http.StatusUnauthorized)
			return
		}
		page := hub.ChangesPage{Next: "c-" + r.URL.Query().Get("since") + "1", More: true,
			Changes: []hub.CodeChange{{Code: "77", CardID: "p", Status: hub.StatusDelete, At: at}},
			Notices: []hub.Notice{{Event: "card_sku_remind", CardID: "p", Detail: "the card's stock is below 100", At: at}}}
		_ = json.NewEncoder(w).Encode(page)
	}))
	defer srv.Close()
	hf := &HubFeed{c: hub.NewClient(hub.ClientOptions{URL: srv.URL, TerminalKey: "k1"})}
	var f sync.Feed = hf
	if _, err := f.Changes(context.Background(), ""); err != nil { // no notice sink: skipped
		t.Fatal(err)
	}
	var notices []hub.Notice
	hf.OnNotices(func(ns []hub.Notice) { notices = append(notices, ns...) })
	page, err := f.Changes(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	if page.Next != "c-x1" || !page.More || len(page.Changes) != 1 || page.Changes[0] != (sync.CodeChange{Code: "77", CardID: "p", Status: "DELETE", At: at}) {
		t.Fatalf("page %+v", page)
	}
	if len(notices) != 1 || notices[0].Event != "card_sku_remind" || notices[0].Detail != "the card's stock is below 100" {
		t.Fatalf("notices %+v", notices)
	}
	// Feed statuses pass through as the hub says them, GIFTING and GIFTED too.
	for _, st := range []string{hub.StatusNormal, hub.StatusDelete, hub.StatusGifting, hub.StatusGifted, hub.StatusConsumed} {
		if got := feedStatus(t, st); got != st {
			t.Errorf("status %s came through as %q", st, got)
		}
	}
	bad := &HubFeed{c: hub.NewClient(hub.ClientOptions{URL: srv.URL, TerminalKey: "wrong"})}
	if _, err := bad.Changes(context.Background(), ""); err == nil {
		t.Fatal("a refused key gave no error")
	}
}

// feedStatus passes one change of status st through the adapter.
func feedStatus(t *testing.T, st string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(hub.ChangesPage{Changes: []hub.CodeChange{{Code: "1", Status: st}}})
	}))
	defer srv.Close()
	page, err := (&HubFeed{c: hub.NewClient(hub.ClientOptions{URL: srv.URL, TerminalKey: "k"})}).Changes(context.Background(), "")
	if err != nil || len(page.Changes) != 1 {
		t.Fatalf("%+v %v", page, err)
	}
	return page.Changes[0].Status
}
