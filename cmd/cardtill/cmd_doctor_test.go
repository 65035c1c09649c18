package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/internal/doctor"
	"cardtill/sync"
	"cardtill/wechat/wechattest"
)

// dateServer answers every request with a Date header offset from now.
func dateServer(t *testing.T, offset time.Duration, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Date", time.Now().Add(offset).UTC().Format(http.TimeFormat))
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDoctorExitCodesAndNoSecrets(t *testing.T) {
	t.Parallel()
	const secret = "STATIC-TOKEN-must-not-print"
	wx := dateServer(t, 0, http.StatusNotFound)
	dir := t.TempDir()
	good := writeFile(t, "good.toml", fmt.Sprintf(`
[terminal]
id = "till-9"
[wechat]
api_base = %q
token_source = "static"
static_token = %q
[store]
path = %q
`, wx.URL, secret, filepath.Join(dir, "journal.db")))
	unfit := writeFile(t, "unfit.toml", fmt.Sprintf(`
[wechat]
api_base = %q
token_source = "stable"
appid = "wx123"
secret_file = %q
[store]
path = %q
`, wx.URL, filepath.Join(dir, "no-such-secret"), filepath.Join(dir, "journal.db")))
	broken := writeFile(t, "broken.toml", "[offline]\nmode = \"sometimes\"\n")

	cases := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{"fit with warnings", []string{"--config", good, "doctor"}, exitOK, []string{"OK    config", "WARN  credentials", "fit to serve"}},
		{"unfit", []string{"--config", unfit, "doctor"}, exitFailure, []string{"FAIL  credentials", "NOT fit to serve"}},
		{"config unreadable", []string{"--config", broken, "doctor"}, exitUsage, []string{"FAIL  config", "offline.mode"}},
		{"config missing", []string{"--config", filepath.Join(dir, "nope.toml"), "doctor"}, exitUsage, []string{"file not found"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), tc.args, strings.NewReader(""), &out, &errb)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d\n%s%s", code, tc.wantCode, out.String(), errb.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if strings.Contains(out.String()+errb.String(), secret) {
				t.Errorf("a secret was printed:\n%s", out.String())
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		var out bytes.Buffer
		code := run(context.Background(), []string{"--config", unfit, "doctor", "--json"}, strings.NewReader(""), &out, &out)
		if code != exitFailure {
			t.Fatalf("exit %d", code)
		}
		var rep doctor.Report
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out.String())
		}
		if rep.Fit || rep.Config != unfit || rep.Version != version || len(rep.Findings) < 6 {
			t.Fatalf("report = %+v", rep)
		}
		for _, f := range rep.Findings {
			if f.Status != doctor.OK && f.Fix == "" {
				t.Errorf("finding %q (%s) says nothing to do", f.Name, f.Status)
			}
		}
	})
}

// TestDoctorAgainstFakeWeChat runs the whole doctor against the fake WeChat
// with token_source = "stable": the token comes through the shared builder.
func TestDoctorAgainstFakeWeChat(t *testing.T) {
	srv := wechattest.New()
	t.Cleanup(srv.Close)
	good := stableTill(t, srv, srv.Secret, "")
	code, out, errs := runCLI(t, "doctor", "--config", good)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, w := range []string{"OK    token       WeChat issued a token (expires in 2h0m0s)", "OK    queue       empty", "OK    journal", "fit to serve"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	noSecrets(t, srv, out, errs)

	wrong := stableTill(t, srv, "WRONG-SECRET-must-not-print", "")
	code, out, errs = runCLI(t, "doctor", "--config", wrong)
	if code != exitFailure || !strings.Contains(out, "FAIL  token       WeChat refused: errcode 40125") ||
		!strings.Contains(out, "the appid or the AppSecret is wrong") || strings.Contains(out+errs, "WRONG-SECRET") {
		t.Fatalf("wrong secret: exit %d\n%s%s", code, out, errs)
	}
	noSecrets(t, srv, out, errs)

	// In an outage the till still serves, offline within [offline]
	// limits: doctor warns; with offline mode "refuse" it cannot serve.
	srv.SetOutage(true)
	code, out, errs = runCLI(t, "doctor", "--config", good)
	if code != exitOK || !strings.Contains(out, "WARN  token") || !strings.Contains(out, "make WeChat reachable") {
		t.Fatalf("outage: exit %d\n%s%s", code, out, errs)
	}
	t.Setenv("CARDTILL_OFFLINE_MODE", "refuse")
	code, out, errs = runCLI(t, "doctor", "--config", good)
	if code != exitFailure || !strings.Contains(out, "FAIL  token") {
		t.Fatalf("outage with offline mode refuse: exit %d\n%s%s", code, out, errs)
	}
}

// TestDoctorBesideRunningTill: with the till running (till.Open and
// till.StartOps, as `cardtill run` does) and a code queued offline, doctor
// says the journal is in use by the running till (ok), reads the queue
// through the till's control socket, and is fit to serve; `code get`
// answers beside it too.
func TestDoctorBesideRunningTill(t *testing.T) {
	t.Parallel()
	srv, cfg, _ := fakeTill(t)
	srv.AddCode(wechattest.Code{Code: "300000000001", CardID: "pCard"})
	tl, _, _ := runningTill(t, cfg)
	srv.SetOutage(true)
	out, err := tl.Engine.Redeem(context.Background(), sync.Request{Code: "300000000001", Source: "cli"})
	if err != nil || out.Kind != sync.AcceptedOffline {
		t.Fatalf("offline redeem: %+v %v", out, err)
	}
	srv.SetOutage(false)

	code, stdout, stderr := runCLI(t, "doctor", "--config", cfg)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for _, w := range []string{"in use by the running till (ok), pid", "OK    queue       1 waiting for WeChat", "fit to serve"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, stdout)
		}
	}
	code, stdout, stderr = runCLI(t, "doctor", "--config", cfg, "--json")
	var rep doctor.Report
	if err := json.Unmarshal([]byte(stdout), &rep); code != exitOK || err != nil || rep.Journal == nil {
		t.Fatalf("doctor --json: exit %d, %v\n%s%s", code, err, stdout, stderr)
	}
	if j := rep.Journal; j.Waiting != 1 || j.PID == 0 || j.Oldest.IsZero() || j.Max != 1<<30 || j.Size <= 0 || j.Conflicts != 0 {
		t.Fatalf("journal figures: %+v", *j)
	}
	if code, o, e := runCLI(t, "code", "get", "--config", cfg, "--json", "300000000001"); code != exitOK || !strings.Contains(o, `"status":"NORMAL"`) {
		t.Fatalf("code get beside the till: exit %d\n%s%s", code, o, e)
	}
	if srv.ConsumeCount("300000000001") != 0 {
		t.Fatal("doctor or code get consumed")
	}
}
