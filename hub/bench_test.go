package hub_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/wechat"
)

// BenchmarkSafePush measures safe-mode pushes handled end to end over
// loopback: "durable" is the hub's handler, which commits (fsyncs) every
// event to bbolt before answering success; "nostore" is the same push
// handler whose deliver does nothing. Sealing happens outside the timer.
// The ratio of the two is the price of durability before success.
func BenchmarkSafePush(b *testing.B) {
	raw := seedEvents(b)["user_get_card"]
	run := func(b *testing.B, h http.Handler, parallel bool) {
		srv := httptest.NewServer(h)
		defer srv.Close()
		client := srv.Client()
		p := codec(b)
		type sealed struct {
			url  string
			body []byte
		}
		reqs := make([]sealed, b.N)
		for i := range reqs {
			msg := bytes.Replace(raw, []byte("226009850808"), fmt.Appendf(nil, "%012d", i), 1)
			q, body, err := p.Seal(wechat.ModeSafe, msg)
			if err != nil {
				b.Fatal(err)
			}
			reqs[i] = sealed{srv.URL + hub.PathPush + "?" + q.Encode(), body}
		}
		send := func(i int) error {
			resp, err := client.Post(reqs[i].url, "text/xml", bytes.NewReader(reqs[i].body))
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "success" {
				return fmt.Errorf("push %d: %d %s", i, resp.StatusCode, body)
			}
			return nil
		}
		b.ReportAllocs()
		b.ResetTimer()
		if parallel {
			var next atomic.Int64
			b.SetParallelism(4) // 4 x GOMAXPROCS concurrent pushes
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := send(int(next.Add(1) - 1)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		} else {
			for i := range reqs {
				if err := send(i); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pushes/s")
	}
	for _, parallel := range []bool{false, true} {
		suffix := ""
		if parallel {
			suffix = "-parallel"
		}
		b.Run("durable"+suffix, func(b *testing.B) {
			st := openStore(b, filepath.Join(b.TempDir(), "hub.db"))
			s, err := hub.NewServer(hub.Options{Push: codec(b), Store: st, Now: clock})
			if err != nil {
				b.Fatal(err)
			}
			run(b, s.Handler(), parallel)
			if evs, _ := st.Events(time.Time{}, 0); len(evs) != b.N {
				b.Fatalf("stored %d of %d", len(evs), b.N)
			}
		})
		b.Run("nostore"+suffix, func(b *testing.B) {
			mux := http.NewServeMux()
			mux.Handle(hub.PathPush, codec(b).Handler(func(context.Context, *wechat.Push) error { return nil }, nil))
			run(b, mux, parallel)
		})
	}
}
