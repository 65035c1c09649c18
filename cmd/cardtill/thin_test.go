package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mainLineBudget is what package main may hold (docs/ARCHITECTURE.md:
// flags, exit codes and wiring; the work lives in the packages it wires).
const mainLineBudget = 2500

// TestMainStaysThin counts the lines of package main's own files, for
// every system (the Windows files included), and fails past the budget:
// what grows here belongs in a package of its own.
func TestMainStaysThin(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		total += bytes.Count(b, []byte("\n"))
	}
	if total == 0 {
		t.Fatal("no files of package main found: is the test run from its folder?")
	}
	if total > mainLineBudget {
		t.Errorf("package main is %d lines, over its budget of %d: move the work into a package (internal/...) and keep main to flags and wiring", total, mainLineBudget)
	}
	t.Logf("package main: %d lines of %d", total, mainLineBudget)
}
