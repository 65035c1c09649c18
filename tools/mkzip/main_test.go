package main

import (
	"archive/zip"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestReproducible(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.txt")
	if err := os.WriteFile(a, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "SOURCE_DATE_EPOCH" {
			return "1700000000"
		}
		return ""
	}
	build := func(out string) []byte {
		t.Helper()
		if err := run([]string{"-o", out, "-dir", "top", "x/a.txt=" + a}, env); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	one := build(filepath.Join(dir, "1.zip"))
	// A different file mtime and mode must not change the zip.
	if err := os.Chtimes(a, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(a, 0o755); err != nil {
		t.Fatal(err)
	}
	two := build(filepath.Join(dir, "2.zip"))
	if !bytes.Equal(one, two) {
		t.Fatal("two builds of the same files differ")
	}
	zr, err := zip.NewReader(bytes.NewReader(one), int64(len(one)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "top/x/a.txt" {
		t.Fatalf("entries = %v", zr.File)
	}
	if got := zr.File[0].Modified.UTC(); !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("mtime = %v", got)
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "o.zip")
	for name, args := range map[string][]string{
		"no files":     {"-o", out},
		"no equals":    {"-o", out, "a.txt"},
		"missing file": {"-o", out, "a=" + filepath.Join(dir, "nope")},
	} {
		t.Run(name, func(t *testing.T) {
			if err := run(args, func(string) string { return "" }); err == nil {
				t.Fatal("no error")
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Fatal("a zip was left behind")
			}
		})
	}
	if err := run([]string{"-o", out, "a=" + out}, func(string) string { return "soon" }); err == nil {
		t.Fatal("bad SOURCE_DATE_EPOCH accepted")
	}
}
