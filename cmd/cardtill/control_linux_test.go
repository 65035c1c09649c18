package main

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"cardtill/internal/control"

	"cardtill/store"
)

// TestControlSocketRefusesOtherUsers runs a client (curl) as another user:
// the socket's mode keeps it out, and with the mode loosened by hand the
// server still refuses it (SO_PEERCRED). Root and the till's own user get
// answers. Needs root, to run the client as nobody.
func TestControlSocketRefusesOtherUsers(t *testing.T) {
	t.Parallel()
	if os.Getuid() != 0 {
		t.Skip("needs root to run a client as another user")
	}
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("needs curl")
	}
	dir, err := os.MkdirTemp("", "cardtill-ctl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // only the socket's own mode guards it
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(dir, "journal.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sock := control.SocketPath(db.Path())
	ln, err := control.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- control.NewServer(db, slog.New(slog.DiscardHandler)).Serve(ctx, ln) }()
	defer func() { cancel(); <-done; ln.Close() }()

	ask := func(uid uint32, path, method string) (string, error) {
		args := []string{"-s", "-S", "--max-time", "10", "--unix-socket", sock, "-X", method, "http://cardtill" + path}
		if method == "POST" {
			args = append(args, "-d", `{"path":"`+filepath.Join(dir, "stolen.db")+`"}`)
		}
		c := exec.Command(curl, args...)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		out, err := c.CombinedOutput()
		return string(out), err
	}
	if out, err := ask(0, "/ping", "GET"); err != nil || !strings.Contains(out, `"journal"`) {
		t.Fatalf("root is not answered: %v %s", err, out)
	}
	if out, err := ask(65534, "/ping", "GET"); err == nil || strings.Contains(out, `"journal"`) {
		t.Fatalf("another user reached the 0600 socket: %s", out)
	}
	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"GET", "POST"} {
		path := map[string]string{"GET": "/check", "POST": "/backup"}[m]
		if out, err := ask(65534, path, m); err == nil || strings.Contains(out, "{") {
			t.Fatalf("another user was answered on a loosened socket: %s %s", m, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "stolen.db")); err == nil {
		t.Fatal("another user got a backup written")
	}
}
