package hub_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	stdsync "sync"
	"testing"

	"cardtill/wechat"
)

// Concurrent pushes share commits: each distinct event is stored once and
// answered success only once stored, its concurrent retries are answered
// success without a copy, and an invented event under a seen (timestamp,
// nonce) in the same group is refused without failing the others.
func TestGroupCommitConcurrentPushes(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hub.db")
	h := startHub(t, path, nil, 0)
	raw := seedEvents(t)["user_get_card"]
	const n = 48
	qs := make([]string, n)
	bodies, forged := make([][]byte, n), make([][]byte, n)
	for i := range n {
		msg := bytes.Replace(raw, []byte("226009850808"), fmt.Appendf(nil, "%012d", i), 1)
		q, body, err := h.push.Seal(wechat.ModePlain, msg)
		if err != nil {
			t.Fatal(err)
		}
		qs[i], bodies[i] = q.Encode(), body
		forged[i] = bytes.Replace(raw, []byte("226009850808"), fmt.Appendf(nil, "9%011d", i), 1)
	}
	var wg stdsync.WaitGroup
	results := make([][3]int, n)
	for i := range n {
		for j := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := bodies[i]
				if j == 2 { // another event under push i's query
					body = forged[i]
				}
				st, b := h.post(t, qs[i], body)
				if st == 200 && b != "success" {
					st = -1
				}
				results[i][j] = st
			}()
		}
	}
	wg.Wait()
	// Plaintext signatures do not cover the body: whichever event came
	// first under a query is kept, the other refused (the retry follows its
	// event).
	for i, r := range results {
		if !(r == [3]int{200, 200, 403} || r == [3]int{403, 403, 200}) {
			t.Errorf("push %d, its retry, another event under its query: %v; want one event taken, the other refused", i, r)
		}
	}
	h.stop()
	h2 := startHub(t, path, nil, 0)
	evs := h2.events(t)
	if len(evs) != n {
		t.Fatalf("stored %d events, want %d", len(evs), n)
	}
	seen := map[string]bool{}
	for _, e := range evs {
		if seen[e.Raw] {
			t.Fatalf("stored twice: %s", e.Raw)
		}
		seen[e.Raw] = true
	}
	for i, r := range results {
		if want := r[0] == 200; seen[string(bodies[i])] != want || seen[string(forged[i])] == want {
			t.Errorf("push %d: stored %v / %v, answered %v", i, seen[string(bodies[i])], seen[string(forged[i])], r)
		}
	}
}
