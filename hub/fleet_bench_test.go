//go:build unix

package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"cardtill/hub"
)

// cpuTime is the CPU this process used (user + system).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkFleetIngest measures heartbeats ingested by one hub from 10,000
// tills (terminal keys), each a POST of one heartbeat (the usual batch) by
// a random till, 16 at once: on bbolt (schema 3, group commit) and on
// PostgreSQL (CARDTILL_TEST_DATABASE_URL). "loopback" is end to end over
// HTTP, the clients in this process too (their CPU is counted: an upper
// bound); "handler" calls the hub's handler directly (the hub's own work:
// authentication, decoding, checking, the store's commit). Figures:
// reports/s, and cpu-ms/report, the process's CPU per report; the target,
// 10,000 tills every 60 s (167/s) in under half a core, needs cpu-ms/report
// under 3.
func BenchmarkFleetIngest(b *testing.B) {
	const tills = 10000
	for _, store := range []string{"bolt", "postgres"} {
		b.Run(store, func(b *testing.B) {
			var st hub.Store
			if store == "bolt" {
				s, err := hub.OpenStore(filepath.Join(b.TempDir(), "hub.db"), hub.StoreOptions{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = s.Close() })
				st = s
			} else {
				st = openPG(b, b.Name()+b.TempDir(), hub.PGOptions{Now: time.Now})
			}
			names, keys := make([]string, tills), make([]string, tills)
			for i := range names {
				names[i], keys[i] = fmt.Sprintf("till-%05d", i), hub.NewTerminalKey()
			}
			if err := hub.AddTerminalsBulk(st, names, keys); err != nil {
				b.Fatal(err)
			}
			s, err := hub.NewServer(hub.Options{Push: codec(b), Store: st})
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler()
			body := func(i int) []byte {
				at := time.Now()
				rep := hub.FleetReport{Kind: hub.KindHeartbeat, At: at, Heartbeat: &hub.Heartbeat{Version: "1.4.0", Store: fmt.Sprintf("Shop %d", i/4), Terminal: "T1",
					Interval: 60, Online: true, QueueDepth: i % 3, JournalUse: 0.1, Scanner: "connected",
					Shift: &hub.OpenShift{ID: 12, Cashier: "Li", OpenedAt: at.Add(-time.Hour), Total: 40, Counts: map[string]int{"consumed_online": 39, "conflict": 1}}}}
				rep.ID = rep.Key()
				raw, _ := json.Marshal(hub.FleetBatch{Format: hub.FleetFormat, Reports: []hub.FleetReport{rep}})
				return raw
			}
			for _, mode := range []string{"handler", "loopback"} {
				b.Run(mode, func(b *testing.B) {
					srv := httptest.NewServer(h)
					defer srv.Close()
					tr := &http.Transport{MaxIdleConnsPerHost: 64}
					defer tr.CloseIdleConnections()
					client := &http.Client{Transport: tr}
					var next atomic.Int64
					b.SetParallelism(8) // 16 at once on 2 cores
					cpu0 := cpuTime(b)
					b.ResetTimer()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							i := int(next.Add(1)) * 7919 % tills
							raw := body(i)
							if mode == "handler" {
								req := httptest.NewRequest(http.MethodPost, hub.PathFleet, bytes.NewReader(raw))
								req.Header.Set("Authorization", "Bearer "+keys[i])
								w := httptest.NewRecorder()
								h.ServeHTTP(w, req)
								if w.Code != 200 {
									b.Errorf("%d %s", w.Code, w.Body)
									return
								}
								continue
							}
							req, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+hub.PathFleet, bytes.NewReader(raw))
							req.Header.Set("Authorization", "Bearer "+keys[i])
							resp, err := client.Do(req)
							if err != nil {
								b.Error(err)
								return
							}
							_, _ = io.Copy(io.Discard, resp.Body)
							resp.Body.Close()
							if resp.StatusCode != 200 {
								b.Errorf("status %d", resp.StatusCode)
								return
							}
						}
					})
					b.StopTimer()
					cpu := cpuTime(b) - cpu0
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "reports/s")
					b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/report")
					b.ReportMetric(167*float64(cpu)/float64(time.Second)/float64(b.N), "cores@167/s")
				})
			}
		})
	}
}
