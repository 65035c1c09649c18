// Command mkzip writes a reproducible zip: entries in the order given, each
// under one top folder, every timestamp fixed to SOURCE_DATE_EPOCH, no
// owner or permission extras. Two runs over the same files give the same
// bytes, which `make dist` relies on for its checksums.
//
//	go run ./tools/mkzip -o out.zip -dir cardtill-1.2.0-windows-amd64 \
//	    cardtill.exe=dist/win/cardtill.exe config.example.toml=internal/config/config.example.toml
//
// Each argument is NAME=PATH (NAME inside the folder, PATH on disk). mkzip
// only packs files; it never reads the clock or the file modes.
package main

import (
	"archive/zip"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintf(os.Stderr, "mkzip: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string) error {
	fs := flag.NewFlagSet("mkzip", flag.ContinueOnError)
	out := fs.String("o", "", "zip file to write")
	dir := fs.String("dir", "", "top folder inside the zip")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() == 0 {
		return errors.New("usage: mkzip -o OUT.zip [-dir FOLDER] NAME=PATH")
	}
	mtime, err := sourceDate(getenv("SOURCE_DATE_EPOCH"))
	if err != nil {
		return err
	}
	tmp := *out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	zw := zip.NewWriter(f)
	for _, a := range fs.Args() {
		name, path, ok := strings.Cut(a, "=")
		if !ok || name == "" || path == "" {
			f.Close()
			return fmt.Errorf("%q: write NAME=PATH", a)
		}
		if *dir != "" {
			name = strings.TrimSuffix(*dir, "/") + "/" + name
		}
		if err := add(zw, name, path, mtime); err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, *out)
}

// sourceDate parses SOURCE_DATE_EPOCH; unset means 1980-01-01, the
// earliest time a zip can hold.
func sourceDate(s string) (time.Time, error) {
	if s == "" {
		return time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q is not a number of seconds", s)
	}
	return time.Unix(n, 0).UTC(), nil
}

func add(zw *zip.Writer, name, path string, mtime time.Time) error {
	src, err := os.Open(path)
	if err != nil {
		return err
	}
	defer src.Close()
	h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: mtime}
	h.SetMode(0o644)
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, src); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
