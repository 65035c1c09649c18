// Package testkit holds what the tests of several packages build the same
// way: a journal as an earlier run of the till would leave it, and a real
// hub on loopback. Tests only: nothing of the program imports it.
package testkit

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
)

// SeedJournal leaves in a journal what an earlier run would have: an open
// shift with conflicts and codes still queued (due tomorrow, so the drain
// of the run under test leaves them), codes consumed, and a card title in
// the cache. It returns the codes, oldest first.
func SeedJournal(t *testing.T, path, terminal string, conflicts, queued int) (conflictCodes, queuedCodes []string) {
	t.Helper()
	db, err := store.Open(path, store.Options{Terminal: terminal, LockTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sh, err := db.OpenShift(terminal, "Wang Fang")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PutCard(store.Card{CardID: "pSeedCard", Title: "¥20 off any drink"}); err != nil {
		t.Fatal(err)
	}
	at := time.Now().Add(-30 * time.Hour) // yesterday: before the restart
	for i := range conflicts {
		code := fmt.Sprintf("7700%08d", i)
		_, err := db.Create(store.Redemption{Code: code, CardID: "pSeedCard", ShiftID: sh.ID, Terminal: terminal, Cashier: "Wang Fang",
			State: store.Conflict, Reason: string(sync.ReasonAlreadyUsed), ReasonText: "invalid code, has been consumed", Errcode: 40099,
			CreatedAt: at, OfflineAcceptedAt: at.Add(time.Duration(i) * time.Minute)}, "seed", store.Received, store.Queued)
		if err != nil {
			t.Fatal(err)
		}
		conflictCodes = append(conflictCodes, code)
	}
	for i := range queued {
		code := fmt.Sprintf("8800%08d", i)
		_, err := db.Create(store.Redemption{Code: code, CardID: "pSeedCard", ShiftID: sh.ID, Terminal: terminal, Cashier: "Wang Fang",
			State: store.Queued, Reason: string(sync.ReasonAcceptedOffline), CreatedAt: at, OfflineAcceptedAt: at.Add(time.Duration(i) * time.Minute),
			DueAt: time.Now().Add(24 * time.Hour)}, "seed", store.Received)
		if err != nil {
			t.Fatal(err)
		}
		queuedCodes = append(queuedCodes, code)
	}
	if _, err := db.Create(store.Redemption{Code: "990000000001", ShiftID: sh.ID, Terminal: terminal, State: store.Consumed, CreatedAt: at},
		"seed", store.Received, store.Checked, store.Consuming); err != nil {
		t.Fatal(err)
	}
	return conflictCodes, queuedCodes
}

// PlainHub serves a real hub (its own bbolt file) with tokens (nil: no
// AppSecret) on loopback, with one terminal; it returns its URL and the
// terminal's key.
func PlainHub(t *testing.T, tokens hub.TokenSource, terminal string) (url, key string) {
	t.Helper()
	st, err := hub.OpenStore(filepath.Join(t.TempDir(), "hub.db"), hub.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	key = hub.NewTerminalKey()
	if err := st.AddTerminal(terminal, key); err != nil {
		t.Fatal(err)
	}
	push, err := wechat.NewPushCodec(wechat.PushConfig{Token: "pushtoken"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hub.NewServer(hub.Options{Push: push, Store: st, Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL, key
}

// ClosedURL is a loopback address where nothing listens any more.
func ClosedURL(t *testing.T) string {
	hs := httptest.NewServer(http.NotFoundHandler())
	hs.Close()
	return hs.URL
}
