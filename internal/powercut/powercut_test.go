//go:build linux

package powercut

import (
	"bytes"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

func cut(t *testing.T, f *FS) CutStats {
	t.Helper()
	st, err := f.Cut(CutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func write(t *testing.T, p, s string, syncFile bool) {
	t.Helper()
	fh, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if syncFile {
		if err := fh.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	d, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		t.Fatal(err)
	}
}

// content is the file's content, or "<absent>".
func content(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return "<absent>"
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func want(t *testing.T, p, w string) {
	t.Helper()
	if got := content(t, p); got != w {
		t.Fatalf("%s after the cut: %q, want %q", filepath.Base(p), got, w)
	}
}

// durable writes a file and syncs it and its folder.
func durable(t *testing.T, p, s string) {
	t.Helper()
	write(t, p, s, true)
	syncDir(t, filepath.Dir(p))
}

func TestNewFileNeedsFileAndDirSync(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	a, b, c := filepath.Join(f.Dir, "a"), filepath.Join(f.Dir, "b"), filepath.Join(f.Dir, "c")
	write(t, a, "file synced, folder not", true)
	write(t, b, "nothing synced", false)
	cut(t, f)
	want(t, a, "<absent>")
	want(t, b, "<absent>")

	write(t, a, "both synced", true)
	write(t, b, "folder synced, file not", false)
	syncDir(t, f.Dir)
	write(t, c, "after the folder sync", true)
	cut(t, f)
	want(t, a, "both synced")
	want(t, b, "") // the name survived, the data did not
	want(t, c, "<absent>")
}

func TestUnsyncedWriteLostSyncedKept(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	p := filepath.Join(f.Dir, "j")
	durable(t, p, "v1")
	fh, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte("v2"), 0); err != nil {
		t.Fatal(err)
	}
	if err := fh.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteAt([]byte("v3 and longer"), 0); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	if content(t, p) != "v3 and longer" {
		t.Fatal("the live view lost a write")
	}
	if st := cut(t, f); st.Unsynced != 1 {
		t.Fatalf("unsynced at the cut: %d, want 1 (the last write)", st.Unsynced)
	}
	want(t, p, "v2")

	// Truncations are writes: unsynced, undone.
	if err := os.Truncate(p, 0); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	want(t, p, "v2")
	// A rewrite through O_TRUNC without fsync comes back as the old file.
	write(t, p, "new", false)
	cut(t, f)
	want(t, p, "v2")
}

func TestFdatasyncKeeps(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	p := filepath.Join(f.Dir, "j")
	durable(t, p, "")
	fh, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.WriteAt([]byte("datasynced"), 0); err != nil {
		t.Fatal(err)
	}
	if err := fdatasync(fh); err != nil {
		t.Fatal(err)
	}
	fh.Close()
	cut(t, f)
	want(t, p, "datasynced")
}

func TestRenameNeedsDirSync(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	p, tmp := filepath.Join(f.Dir, "journal.db"), filepath.Join(f.Dir, "journal.db.tmp")
	durable(t, p, "old")
	write(t, tmp, "new", true)
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	want(t, p, "old")
	want(t, tmp, "<absent>")

	write(t, tmp, "new", true)
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	syncDir(t, f.Dir)
	cut(t, f)
	want(t, p, "new")
	want(t, tmp, "<absent>")
}

func TestRenameAcrossDirs(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	a, b := filepath.Join(f.Dir, "a"), filepath.Join(f.Dir, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	syncDir(t, f.Dir)
	durable(t, filepath.Join(a, "x"), "x")
	if err := os.Rename(filepath.Join(a, "x"), filepath.Join(b, "x")); err != nil {
		t.Fatal(err)
	}
	syncDir(t, b) // the rename is durable with either folder
	cut(t, f)
	want(t, filepath.Join(a, "x"), "<absent>")
	want(t, filepath.Join(b, "x"), "x")
}

func TestUnlinkAndRmdirNeedDirSync(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	d := filepath.Join(f.Dir, "d")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	syncDir(t, f.Dir)
	durable(t, filepath.Join(d, "keep"), "still here")
	if err := os.Remove(filepath.Join(d, "keep")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(d); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	want(t, filepath.Join(d, "keep"), "still here")
	if fi, err := os.Stat(d); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("folder after the cut: %v %v", fi, err)
	}

	if err := os.RemoveAll(d); err != nil {
		t.Fatal(err)
	}
	syncDir(t, f.Dir)
	cut(t, f)
	want(t, filepath.Join(d, "keep"), "<absent>")
}

func TestMkdirNeedsParentSync(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	d := filepath.Join(f.Dir, "new")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	durable(t, filepath.Join(d, "x"), "x")
	cut(t, f)
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Fatalf("an unsynced mkdir survived: %v", err)
	}
}

// TestHardLinkPublish is the backup's publish: write a temporary file,
// sync it, link it to its name, remove the temporary name, sync the folder.
func TestHardLinkPublish(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	tmp, dst := filepath.Join(f.Dir, ".b.part"), filepath.Join(f.Dir, "b")
	write(t, tmp, "backup", true)
	if err := os.Link(tmp, dst); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(tmp); err != nil {
		t.Fatal(err)
	}
	syncDir(t, f.Dir)
	cut(t, f)
	want(t, dst, "backup")
	want(t, tmp, "<absent>")
}

// TestKeepPrefix: with a kept prefix, what survives is the first k
// unsynced writes, for some k, never a later one without an earlier one.
func TestKeepPrefix(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	p := filepath.Join(f.Dir, "log")
	durable(t, p, "")
	rng := rand.New(rand.NewPCG(7, 7))
	seen := map[int]bool{}
	for range 40 {
		fh, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := fh.WriteString(string(rune('a' + i))); err != nil {
				t.Fatal(err)
			}
		}
		fh.Close()
		st, err := f.Cut(CutOptions{KeepPrefix: true, Rand: rng})
		if err != nil {
			t.Fatal(err)
		}
		got := content(t, p)
		if got != "abcde"[:st.Kept] || st.Unsynced != 5 {
			t.Fatalf("kept %d of %d: file %q", st.Kept, st.Unsynced, got)
		}
		seen[st.Kept] = true
		if err := os.Truncate(p, 0); err != nil {
			t.Fatal(err)
		}
		fh, err = os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		fh.Sync()
		fh.Close()
	}
	if len(seen) < 4 {
		t.Fatalf("prefix lengths drawn: %v", seen)
	}
}

// TestBoltOnMount: bbolt works on the mount (mmap reads, pwrite,
// fdatasync, flock); a committed transaction survives a cut once the file's
// name is durable; a new bbolt file's name is not (bbolt never syncs its
// folder), which is what the journal must do itself.
func TestBoltOnMount(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	p := filepath.Join(f.Dir, "x.db")
	put := func(k string) {
		db, err := bolt.Open(p, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if err := db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return b.Put([]byte(k), bytes.Repeat([]byte(k), 3000))
		}); err != nil {
			t.Fatal(err)
		}
	}
	put("one")
	cut(t, f)
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Fatalf("a new bbolt file without a folder sync survived: %v", err)
	}
	put("one")
	syncDir(t, f.Dir)
	put("two")
	cut(t, f)
	db, err := bolt.Open(p, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		for _, k := range []string{"one", "two"} {
			if v := tx.Bucket([]byte("b")).Get([]byte(k)); len(v) != 9000 {
				t.Errorf("%s: %d bytes after the cut", k, len(v))
			}
		}
		for err := range tx.Check() {
			t.Error(err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestUnixSocketOnMount: the till's control socket is listened on in a
// private folder and renamed into place; a client connects by its name.
func TestUnixSocketOnMount(t *testing.T) {
	t.Parallel()
	f := Mount(t)
	dir, err := os.MkdirTemp(f.Dir, ".ctl-")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "s"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	sock := filepath.Join(f.Dir, "x.sock")
	if err := os.Rename(filepath.Join(dir, "s"), sock); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(dir)
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Write([]byte("hi"))
			c.Close()
		}
	}()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 2)
	if _, err := c.Read(b); err != nil || string(b) != "hi" {
		t.Fatalf("read %q %v", b, err)
	}
	c.Close()
}

// TestNotInBinary: the shipped binary does not contain this package.
func TestNotInBinary(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("go", "list", "-deps", "cardtill/cmd/cardtill").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "cardtill/internal/powercut") {
		t.Fatal("cmd/cardtill depends on internal/powercut: it must stay test-only")
	}
	if !strings.Contains(string(out), "cardtill/store") {
		t.Fatalf("go list -deps looks wrong:\n%s", out)
	}
}
