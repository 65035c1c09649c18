package hub_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"cardtill/hub"
	"cardtill/wechat"
)

// BenchmarkPGPushes measures safe-mode pushes stored in PostgreSQL
// (CARDTILL_TEST_DATABASE_URL), end to end over loopback, 8 at once (as
// BenchmarkSafePush's parallel case), through one hub and through two hubs
// on the same database (pushes alternating). Each push is committed before
// success; PostgreSQL shares the WAL flush between concurrent commits.
func BenchmarkPGPushes(b *testing.B) {
	raw := seedEvents(b)["user_get_card"]
	for _, hubs := range []int{1, 2} {
		b.Run(fmt.Sprintf("hubs=%d", hubs), func(b *testing.B) {
			key := b.Name() + b.TempDir()
			var urls []string
			var clients []*httptest.Server
			for range hubs {
				st := openPG(b, key, hub.PGOptions{})
				s, err := hub.NewServer(hub.Options{Push: codec(b), Store: st, Now: clock})
				if err != nil {
					b.Fatal(err)
				}
				srv := httptest.NewServer(s.Handler())
				b.Cleanup(srv.Close)
				urls, clients = append(urls, srv.URL), append(clients, srv)
			}
			p := codec(b)
			type sealed struct {
				q    string
				body []byte
			}
			reqs := make([]sealed, b.N)
			for i := range reqs {
				msg := bytes.Replace(raw, []byte("226009850808"), fmt.Appendf(nil, "%012d", i), 1)
				q, body, err := p.Seal(wechat.ModeSafe, msg)
				if err != nil {
					b.Fatal(err)
				}
				reqs[i] = sealed{q.Encode(), body}
			}
			var next atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1) - 1)
					h := i % hubs
					resp, err := clients[h].Client().Post(urls[h]+hub.PathPush+"?"+reqs[i].q, "text/xml", bytes.NewReader(reqs[i].body))
					if err != nil {
						b.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if string(body) != "success" {
						b.Errorf("push %d: %d %s", i, resp.StatusCode, body)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pushes/s")
		})
	}
}
