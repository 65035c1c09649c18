package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigErrorsNameKeyAndLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		content string
		want    []string
	}{
		{"unknown key", "[offline]\nmode = \"accept\"\nmax_per_shfit = 3\n",
			[]string{":3:", "offline.max_per_shfit", "unknown key", "config example"}},
		{"unknown section", "[offlien]\nmode = \"accept\"\n",
			[]string{"offlien", "unknown key"}},
		{"bad type", "[offline]\nmax_per_shift = \"many\"\n",
			[]string{":2:", "offline.max_per_shift", `"many" is a string, not a whole number`}},
		{"number for a list", "[offline]\nallow_cards = 3\n",
			[]string{":2:", "offline.allow_cards", "3 is an integer, not a list of texts"}},
		{"text for a boolean", "[ui]\nbell = \"yes\"\n",
			[]string{":2:", "ui.bell", `"yes" is a string, not true or false`}},
		{"number too large", "[offline]\nmax_per_shift = 99999999999999999999\n",
			[]string{":2:", "offline.max_per_shift", "too large"}},
		{"bad duration", "[offline]\n\nmax_age = \"4 hours\"\n",
			[]string{":3:", "offline.max_age", "not a duration", "\"4h\""}},
		{"bad duration type", "[wechat]\ntimeout = \"5s\"\n[sync]\n\nquiet_period = 5\n",
			[]string{":5:", "sync.quiet_period", "not a duration"}},
		{"bad duration in a quoted key", "[sync]\n\"interval\" = 7\n",
			[]string{":2:", "sync.interval", "not a duration"}},
		{"bad enum", "[offline]\nmode = \"maybe\"\n",
			[]string{"offline.mode", `"accept", "refuse"`}},
		{"syntax", "[offline\nmode = 1\n",
			[]string{":1:", "fix the TOML syntax"}},
		{"quiet period too short", "[sync]\nquiet_period = \"2s\"\n",
			[]string{"sync.quiet_period", "longer than wechat.timeout"}},
		{"scan gap too long", "[ui]\nscan_gap = \"1s\"\n",
			[]string{"ui.scan_gap", "1ms to 200ms"}},
		{"repeat window too long", "[ui]\nrepeat_window = \"2h\"\n",
			[]string{"ui.repeat_window", "100ms to 1m"}},
		{"bad code pattern", "[offline]\ncode_pattern = \"^([0-9]+$\"\n",
			[]string{"offline.code_pattern", "not a regular expression"}},
		{"used codes forgotten before their redemptions", "[store]\nretain_days = 90\nused_code_days = 30\n",
			[]string{"store.used_code_days", "less than store.retain_days (90)"}},
		{"tls half set", "[hub]\ntls_cert = \"/x.pem\"\n",
			[]string{"hub.tls_cert", "both"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeFile(t, "config.toml", tt.content)
			_, err := Load(p, noEnv)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), p) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestConfigMissingFileSaysWhatToDo(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "nope.toml")
	_, err := Load(p, noEnv)
	if err == nil || !strings.Contains(err.Error(), "cardtill config example > "+p) {
		t.Fatalf("got %v", err)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	t.Parallel()
	p := writeFile(t, "config.toml", "[offline]\nmode = \"accept\"\n")
	cfg, err := Load(p, envMap(map[string]string{
		"CARDTILL_OFFLINE_MODE":          "refuse",
		"CARDTILL_OFFLINE_MAX_PER_SHIFT": "7",
		"CARDTILL_OFFLINE_MAX_AGE":       "30m",
		"CARDTILL_OFFLINE_ALLOW_CARDS":   "pA, pB",
		"CARDTILL_UI_CONFIRM":            "true",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Offline.Mode != "refuse" || cfg.Offline.MaxPerShift != 7 || cfg.Offline.MaxAge.Duration != 30*time.Minute ||
		len(cfg.Offline.AllowCards) != 2 || cfg.Offline.AllowCards[1] != "pB" || !cfg.UI.Confirm {
		t.Errorf("overrides not applied: %+v %+v", cfg.Offline, cfg.UI)
	}
	_, err = Load(p, envMap(map[string]string{"CARDTILL_OFFLINE_MAX_PER_SHIFT": "lots"}))
	if err == nil || !strings.Contains(err.Error(), "CARDTILL_OFFLINE_MAX_PER_SHIFT") || !strings.Contains(err.Error(), "offline.max_per_shift") {
		t.Errorf("bad env value: got %v", err)
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-app-secret-value"
	dir := t.TempDir()
	good := filepath.Join(dir, "secret")
	if err := os.WriteFile(good, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, file string
		env        map[string]string
		want       string // value, or error substring
		wantErr    bool
	}{
		{"from file", good, nil, secret, false},
		{"env wins", good, map[string]string{"CARDTILL_WECHAT_SECRET": "fromenv"}, "fromenv", false},
		{"missing file", filepath.Join(dir, "missing"), nil, "wechat.secret_file", true},
		{"empty file", empty, nil, "is empty", true},
		{"directory", dir, nil, "is a directory", true},
		{"not set", "", nil, "CARDTILL_WECHAT_SECRET", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Default()
			cfg.WeChat.SecretFile = tt.file
			got, err := cfg.WeChatSecret(envMap(tt.env))
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("got %q, %v; want error with %q", got, err, tt.want)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
