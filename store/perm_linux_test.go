//go:build linux

package store

import (
	"bytes"
	"crypto/sha256"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// permChildEnv names the folder a re-executed test binary, running as an
// unprivileged user, checks; it is set only for that child.
const permChildEnv = "CARDTILL_STORE_PERM_DIR"

// TestNoWritePermission opens journals where the user may not write: a new
// journal in a read-only folder and an existing journal that is read-only.
// Each must fail with an error that says what to check and leave every
// file as it was. Root ignores permission bits, so as root (CI) the test
// binary re-runs this test as the unprivileged user nobody.
func TestNoWritePermission(t *testing.T) {
	t.Parallel()
	if dir := os.Getenv(permChildEnv); dir != "" {
		checkNoWritePermission(t, dir)
		return
	}
	dir := t.TempDir()
	if os.Getuid() != 0 {
		prepareReadOnly(t, dir)
		checkNoWritePermission(t, dir)
		return
	}
	// As root: the folder chain must be traversable by nobody, and the test
	// binary (in Go's private build folder) copied where nobody may run it.
	for d := dir; d != "/" && d != os.TempDir(); d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "store.test")
	copyFile(t, os.Args[0], bin, 0o755)
	ro := filepath.Join(dir, "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	prepareReadOnly(t, ro)
	cmd := exec.Command(bin, "-test.run=^TestNoWritePermission$", "-test.v")
	cmd.Env = append(os.Environ(), permChildEnv+"="+ro)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	t.Logf("as user nobody:\n%s", out)
	if err != nil {
		t.Fatalf("the unprivileged run failed: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: TestNoWritePermission")) {
		t.Fatal("the unprivileged run did not run the test")
	}
}

// prepareReadOnly makes dir hold a valid journal file, then takes write
// permission away from both.
func prepareReadOnly(t *testing.T, dir string) {
	t.Helper()
	db, err := Open(filepath.Join(dir, "existing.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.OpenShift("T1", "alice"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, "existing.db"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(dir, 0o700) })
}

func checkNoWritePermission(t *testing.T, dir string) {
	before := snapshot(t, dir)
	for _, name := range []string{"new.db", "existing.db"} {
		path := filepath.Join(dir, name)
		db, err := Open(path, Options{})
		if err == nil {
			db.Close()
			t.Fatalf("%s: opened for writing without write permission", name)
		}
		msg := err.Error()
		t.Logf("%s: %s", name, msg)
		if !strings.Contains(msg, path) || !strings.Contains(msg, "permission") {
			t.Errorf("%s: the error should name the file and say it is about permissions: %s", name, msg)
		}
	}
	if after := snapshot(t, dir); after != before {
		t.Fatalf("the folder changed:\nbefore %s\nafter  %s", before, after)
	}
}

// snapshot is the names, modes and contents of the files in dir.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range ents {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		if f, err := os.Open(filepath.Join(dir, e.Name())); err == nil {
			io.Copy(h, f)
			f.Close()
		}
		b.WriteString(e.Name() + " " + fi.Mode().String() + " " + string(h.Sum(nil)[:8]) + ";")
	}
	return b.String()
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}
