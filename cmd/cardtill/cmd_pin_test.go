package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cardtill/internal/till"
	"cardtill/pin"
	"cardtill/sync"
)

// TestPinHashFromStdin: 'pin hash' reads one line of standard input and
// prints the config line; the hash checks the PIN; the PIN appears
// nowhere in the output; the config takes the line, 'config show' redacts
// it, and a bad PIN or hash is a clear error that quotes neither.
func TestPinHashFromStdin(t *testing.T) {
	t.Parallel()
	const p = "482193"
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"pin", "hash"}, strings.NewReader(p+"\n"), &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	line := strings.TrimSpace(out.String())
	var h string
	if _, err := fmt.Sscanf(line, "manager_pin_hash = %q", &h); err != nil {
		t.Fatalf("printed %q: %v", line, err)
	}
	if ok, err := pin.Verify(h, p); !ok || err != nil {
		t.Fatalf("the printed hash does not check the PIN: %v %v", ok, err)
	}
	if strings.Contains(out.String()+errb.String(), p) {
		t.Fatalf("the PIN was printed: %q %q", out.String(), errb.String())
	}
	for _, bad := range []string{"", "77\n", "77ab99\n"} {
		var o, e bytes.Buffer
		if code := run(context.Background(), []string{"pin", "hash"}, strings.NewReader(bad), &o, &e); code == 0 || o.Len() > 0 {
			t.Errorf("PIN %q: exit %d, printed %q", bad, code, o.String())
		} else if strings.TrimSpace(bad) != "" && strings.Contains(e.String(), strings.TrimSpace(bad)) {
			t.Errorf("the error quotes the PIN: %s", e.String())
		}
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	write := func(s string) {
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[store]\npath = %q\n[offline]\n%s\n", filepath.Join(dir, "j.db"), s)), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(line)
	code, shown, errOut := runCLI(t, "--config", cfg, "config", "show")
	if code != 0 || strings.Contains(shown, h) || !strings.Contains(shown, "(redacted)") {
		t.Fatalf("config show: exit %d %s %s", code, shown, errOut)
	}
	broken := strings.Replace(h, "$argon2id$", "$argon2i$", 1)
	write(fmt.Sprintf("manager_pin_hash = %q", broken))
	code, _, errOut = runCLI(t, "--config", cfg, "config", "show")
	if code == 0 || !strings.Contains(errOut, "offline.manager_pin_hash") || strings.Contains(errOut, h[len(h)-20:]) {
		t.Fatalf("a bad hash: exit %d %s", code, errOut)
	}
}

// TestManagerPINNeverInLogsOrJournal: the till's override, wired as
// 'cardtill run' wires it, on a real journal during an outage: wrong PINs
// are refused and logged as refused, the right one lets the manager allow
// more, the override is journaled under manager_name and the next code is
// accepted; neither the PIN nor its hash (nor its salt or key) is in the
// logs or anywhere in the journal file.
func TestManagerPINNeverInLogsOrJournal(t *testing.T) {
	t.Parallel()
	const p = "582046"
	h, err := pin.Hash(p)
	if err != nil {
		t.Fatal(err)
	}
	srv, cfgPath, dbPath := fakeTill(t)
	f, err := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[offline]\nmax_per_shift = 1\nmanager_pin_hash = %q\nmanager_name = \"王经理\"\noverride_default = 3\n", h)
	f.Close()
	tl, logs, stop := runningTill(t, cfgPath)
	cfg, err := (&globals{configPath: cfgPath}).config()
	if err != nil {
		t.Fatal(err)
	}
	var ovLogs bytes.Buffer
	ov := till.ManagerOverride(cfg, tl.Engine, slog.New(slog.NewTextHandler(&ovLogs, nil)))
	if ov == nil || ov.Default != 3 {
		t.Fatalf("override %+v", ov)
	}
	srv.SetOutage(true)
	ctx := context.Background()
	redeem := func(code string) sync.Outcome {
		t.Helper()
		out, err := tl.Engine.Redeem(ctx, sync.Request{Code: code})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if out := redeem("810000000001"); out.Kind != sync.AcceptedOffline {
		t.Fatalf("first: %+v", out)
	}
	if out := redeem("810000000002"); out.Reason != sync.ReasonOfflineShiftLimit {
		t.Fatalf("at the limit: %+v", out)
	}
	for _, wrong := range []string{"111111", "582047"} {
		if ok, _ := ov.CheckPIN(wrong); ok {
			t.Fatalf("PIN %s accepted", wrong)
		}
	}
	if ok, wait := ov.CheckPIN(p); !ok || wait != 0 {
		t.Fatalf("the right PIN: %v %s", ok, wait)
	}
	o, err := ov.Allow(ov.Default)
	if err != nil || o.By != "王经理" || o.Extra != 3 || o.Cashier != "Wang Fang" {
		t.Fatalf("allowed %+v %v", o, err)
	}
	if out := redeem("810000000003"); out.Kind != sync.AcceptedOffline || out.MaxPerShift != 4 {
		t.Fatalf("after the override: %+v", out)
	}
	stop()
	journal, err := os.ReadFile(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	all := logs.String() + ovLogs.String()
	if !strings.Contains(all, "manager PIN refused") || !strings.Contains(all, "offline limit raised") {
		t.Fatalf("the logs lack the refusals or the override:\n%s", all)
	}
	parts := strings.Split(h, "$")
	for _, secret := range []string{p, h, parts[4], parts[5], "582047", "111111"} {
		if strings.Contains(all, secret) {
			t.Errorf("the logs contain %q:\n%s", secret, all)
		}
		if bytes.Contains(journal, []byte(secret)) {
			t.Errorf("the journal file contains %q", secret)
		}
	}
	if !bytes.Contains(journal, []byte("王经理")) {
		t.Error("the check cannot fail: the override is not in the journal file as bytes")
	}
}
