package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cardtill/pin"
)

// TestPinHashFromStdin: 'pin hash' reads one line of standard input and
// prints the config line; the hash checks the PIN; the PIN appears
// nowhere in the output; the config takes the line, 'config show' redacts
// it, and a bad PIN or hash is a clear error that quotes neither.
func TestPinHashFromStdin(t *testing.T) {
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
