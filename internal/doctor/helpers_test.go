package doctor

import (
	"os"
	"path/filepath"
	"testing"
)

// writeFile writes content to a new file name in a temporary folder.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// noEnv is an empty environment.
func noEnv(string) string { return "" }
