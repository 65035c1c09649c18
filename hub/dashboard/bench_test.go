package dashboard_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/hub/dashboard"
)

// BenchmarkTillsPage renders the tills page (store read, ViewTills, the
// template) for a fleet of n tills that reported, through the handler
// (no network): how the page's cost grows with the fleet.
func BenchmarkTillsPage(b *testing.B) {
	for _, n := range []int{100, 1000, 5000} {
		b.Run(fmt.Sprintf("tills=%d", n), func(b *testing.B) {
			clk := &clock{t: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
			st, err := hub.OpenStore(filepath.Join(b.TempDir(), "hub.db"), hub.StoreOptions{Now: clk.Now})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			h, _ := hub.PasswordHash(password, cheap)
			if err := st.AddAccount(account, h); err != nil {
				b.Fatal(err)
			}
			// Reports from 16 goroutines share the store's group commits.
			var wg stdsync.WaitGroup
			errs := make(chan error, 16)
			for w := range 16 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := w; i < n; i += 16 {
						name := fmt.Sprintf("store%04d-till%d", i/2, i%2)
						rep := heartbeat(clk.Now().Add(-time.Duration(i)*time.Second), i%7, time.Time{})
						rep.Heartbeat.Store = fmt.Sprintf("门店 %04d", i/2)
						rep.ID = rep.Key()
						if _, _, err := st.AddFleet(name, clk.Now().Add(-time.Duration(i)*time.Second), []hub.FleetReport{rep}); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			wg.Wait()
			close(errs)
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			d, err := dashboard.New(dashboard.Options{Accounts: st, Terminals: st, Fleet: st, Now: clk.Now, Location: time.UTC, PasswordParams: cheap})
			if err != nil {
				b.Fatal(err)
			}
			cookie := benchLogin(b, d)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				w := &recorder{h: http.Header{}}
				r, _ := http.NewRequest(http.MethodGet, "/admin/tills", nil)
				r.AddCookie(cookie)
				d.Handler().ServeHTTP(w, r)
				if w.code != 200 {
					b.Fatalf("status %d", w.code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/till")
		})
	}
}

// benchLogin logs in through the handler and returns the session cookie.
func benchLogin(b *testing.B, d *dashboard.Dashboard) *http.Cookie {
	b.Helper()
	w := &recorder{h: http.Header{}}
	r, _ := http.NewRequest(http.MethodGet, "/admin/login", nil)
	d.Handler().ServeHTTP(w, r)
	login := (&http.Response{Header: w.h}).Cookies()[0]
	tok := csrfField.FindStringSubmatch(w.body.String())[1]
	form := "csrf=" + tok + "&account=" + account + "&password=" + "correct+horse"
	r, _ = http.NewRequest(http.MethodPost, "/admin/login", stringsReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(login)
	w = &recorder{h: http.Header{}}
	d.Handler().ServeHTTP(w, r)
	for _, c := range (&http.Response{Header: w.h}).Cookies() {
		if c.Name == "cardtill_session" && c.Value != "" {
			return c
		}
	}
	b.Fatalf("login: %d %s", w.code, w.body.String())
	return nil
}
