package hub_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"cardtill/hub"
)

// BenchmarkTokenService measures GET /v1/token over loopback: the terminal
// key checked against the hub's bbolt file (SHA-256 and a read
// transaction), the token taken from the source (a constant here, as the
// stable-token cache is between refreshes), the JSON answer.
func BenchmarkTokenService(b *testing.B) {
	tokens := tokenFunc(func(context.Context) (string, time.Time, error) {
		return wxToken, testNow.Add(2 * time.Hour), nil
	})
	h := startHub(b, filepath.Join(b.TempDir(), "hub.db"), tokens, 0)
	key := hub.NewTerminalKey()
	if err := h.store.AddTerminal("till-1", key); err != nil {
		b.Fatal(err)
	}
	client := h.srv.Client()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodGet, h.url+hub.PathToken, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}
