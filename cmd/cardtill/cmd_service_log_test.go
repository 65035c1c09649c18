package main

import (
	"path/filepath"
	"testing"

	"cardtill/internal/config"
)

// The hub service logs next to its own file, not next to a till's journal
// (a till on the same PC writes its log there as the cashier's user).
func TestServiceLogFileNextToHubStore(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	hubDir, tillDir := filepath.Join(dir, "hub"), filepath.Join(dir, "till")
	p := writeFile(t, "config.toml", "[store]\npath = '"+filepath.Join(tillDir, "journal.db")+"'\n[hub]\nstore_path = '"+filepath.Join(hubDir, "hub.db")+"'\n")
	cfg, err := config.Load(p, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := serviceLogFile(cfg), filepath.Join(hubDir, "cardtill.log"); got != want {
		t.Fatalf("service log %s, want %s", got, want)
	}
}
