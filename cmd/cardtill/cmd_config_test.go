package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cardtill/internal/config"
	"cardtill/internal/console"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func noEnv(string) string { return "" }

// shortLockWait sets [store] lock_timeout in the config at path to 200ms,
// for a test that opens a file another holds on purpose: the wait passes
// there, but how long it is is not what the test is about (2s by default).
func shortLockWait(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := "\n" + string(b) // the table may open the file
	if !strings.Contains(s, "\n[store]\n") {
		t.Fatalf("%s has no [store] table", path)
	}
	s = strings.Replace(s, "\n[store]\n", "\n[store]\nlock_timeout = \"200ms\"\n", 1)[1:]
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConfigShowRedactsSecrets(t *testing.T) {
	t.Parallel()
	const tok = "static-token-never-printed"
	p := writeFile(t, "config.toml", "[wechat]\ntoken_source = \"static\"\nstatic_token = \""+tok+"\"\n[hub]\ntoken = \"pushtoken-x\"\nencoding_aes_key = \"aeskey-x\"\n")
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"--config", p, "config", "show"}, strings.NewReader(""), &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, s := range []string{tok, "pushtoken-x", "aeskey-x"} {
		if strings.Contains(out.String(), s) {
			t.Errorf("config show printed a secret %q", s)
		}
	}
	if !strings.Contains(out.String(), "(redacted)") || !strings.Contains(out.String(), "token_source = 'static'") {
		t.Errorf("unexpected output:\n%s", out.String())
	}
}

func TestExitCodes(t *testing.T) {
	t.Parallel()
	bad := writeFile(t, "config.toml", "[offline]\nmode = \"maybe\"\n")
	tests := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"version", []string{"version"}, 0, ""},
		{"unknown command", []string{"frobnicate"}, 2, "unknown command"},
		{"misspelt command", []string{"doctr"}, 2, "Did you mean this?\n\tdoctor"},
		{"no command", []string{}, 0, ""},
		{"unknown flag", []string{"version", "--frob"}, 2, "unknown flag"},
		{"extra args", []string{"version", "x"}, 2, "expected no arguments"},
		{"bad config", []string{"--config", bad, "config", "show"}, 2, "offline.mode"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &out, &errOut)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, errOut.String())
			}
			if !strings.Contains(errOut.String(), tt.msg) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), tt.msg)
			}
		})
	}
}

// The Linux console (TERM=linux) gets ASCII and English unless [ui]
// console says otherwise; an unknown mode is a config error naming it.
func TestConsoleMode(t *testing.T) {
	t.Parallel()
	env := func(term string) func(string) string {
		return func(k string) string {
			switch k {
			case "TERM":
				return term
			case "LANG":
				return "zh_CN.UTF-8"
			}
			return ""
		}
	}
	cfg := config.Default()
	cfg.UI.Lang = "zh"
	for _, c := range []struct {
		mode, term string
		ascii      bool
		lang       string
	}{{"auto", "linux", true, "en"}, {"auto", "xterm-256color", false, "zh"}, {"unicode", "linux", false, "zh"}, {"ascii", "xterm", true, "en"}} {
		cfg.UI.Console = c.mode
		if got := console.ASCII(c.mode, env(c.term)); got != c.ascii {
			t.Errorf("%s on %s: ascii %v", c.mode, c.term, got)
		}
		if got := console.ScreenLang(cfg, env(c.term)); got != c.lang {
			t.Errorf("%s on %s: lang %s", c.mode, c.term, got)
		}
	}
	p := writeFile(t, "console.toml", "[ui]\nconsole = \"cjk\"\n")
	g := &globals{configPath: p, getenv: func(string) string { return "" }}
	if _, err := g.config(); err == nil || !strings.Contains(err.Error(), "ui.console") {
		t.Fatalf("bad console mode: %v", err)
	}
}
