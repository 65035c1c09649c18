package hub_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
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

// BenchmarkGroupCommitRatio measures the price of durability in one run:
// each iteration is one round of the same safe-mode pushes sent to the
// durable hub and to the handler without storage, one after the other,
// serially and then 8 at once (4 x GOMAXPROCS on 2 cores, as
// BenchmarkSafePush's parallel case). It reports the ratio durable/nostore
// of pushes per second, min and median over the rounds (run it with
// -benchtime 5x, say): the group commit has to hold the parallel ratio at
// 0.5 or more.
func BenchmarkGroupCommitRatio(b *testing.B) {
	const perRound, workers = 400, 8
	raw := seedEvents(b)["user_get_card"]
	p := codec(b)
	st := openStore(b, filepath.Join(b.TempDir(), "hub.db"))
	s, err := hub.NewServer(hub.Options{Push: codec(b), Store: st, Now: clock})
	if err != nil {
		b.Fatal(err)
	}
	durable := httptest.NewServer(s.Handler())
	defer durable.Close()
	mux := http.NewServeMux()
	mux.Handle(hub.PathPush, codec(b).Handler(func(context.Context, *wechat.Push) error { return nil }, nil))
	nostore := httptest.NewServer(mux)
	defer nostore.Close()
	n := 0
	seal := func() ([]string, [][]byte) {
		qs, bodies := make([]string, perRound), make([][]byte, perRound)
		for i := range qs {
			n++
			msg := bytes.Replace(raw, []byte("226009850808"), fmt.Appendf(nil, "%012d", n), 1)
			q, body, err := p.Seal(wechat.ModeSafe, msg)
			if err != nil {
				b.Fatal(err)
			}
			qs[i], bodies[i] = q.Encode(), body
		}
		return qs, bodies
	}
	rate := func(srv *httptest.Server, par int) float64 {
		qs, bodies := seal()
		client := srv.Client()
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range par {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1) - 1); i < perRound; i = int(next.Add(1) - 1) {
					resp, err := client.Post(srv.URL+hub.PathPush+"?"+qs[i], "text/xml", bytes.NewReader(bodies[i]))
					if err != nil {
						b.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if string(body) != "success" {
						b.Errorf("push: %d %s", resp.StatusCode, body)
						return
					}
				}
			}()
		}
		wg.Wait()
		return perRound / time.Since(start).Seconds()
	}
	var serial, parallel []float64
	var commits, writes uint64
	for b.Loop() {
		serial = append(serial, rate(durable, 1)/rate(nostore, 1))
		c0, w0 := hub.GroupCommits(st)
		parallel = append(parallel, rate(durable, workers)/rate(nostore, workers))
		c1, w1 := hub.GroupCommits(st)
		commits, writes = commits+c1-c0, writes+w1-w0
	}
	b.ReportMetric(float64(writes)/float64(commits), "parallel-pushes/commit")
	for name, r := range map[string][]float64{"serial": serial, "parallel": parallel} {
		slices.Sort(r)
		b.ReportMetric(r[0], name+"-min")
		b.ReportMetric(r[len(r)/2], name+"-median")
	}
}
