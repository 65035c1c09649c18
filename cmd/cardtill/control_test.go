package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"cardtill/internal/control"
	"cardtill/internal/till"

	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat/wechattest"
)

// runningTill opens the till named by cfgPath the way `cardtill run` and
// `cardtill sync` do (till.Open, then till.StartOps) and keeps it open until
// the test ends or stop is called. logs collects what it logged.
func runningTill(t *testing.T, cfgPath string) (tl *till.Till, logs *bytes.Buffer, stop func()) {
	t.Helper()
	g := &globals{configPath: cfgPath, stdout: new(bytes.Buffer), stderr: new(bytes.Buffer)}
	cfg, err := g.config()
	if err != nil {
		t.Fatal(err)
	}
	logs = new(bytes.Buffer)
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: logs}, nil))
	tl, err = till.Open(cfg, g.env, logger, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopOps := till.StartOps(ctx, tl.DB, cfg, logger)
	var once stdsync.Once
	stop = func() { once.Do(func() { cancel(); stopOps(); tl.Close() }) }
	t.Cleanup(stop)
	return tl, logs, stop
}

type lockedWriter struct {
	mu stdsync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// redeem consumes n codes through the running till's engine.
func redeem(t *testing.T, srv *wechattest.Server, tl *till.Till, prefix string, n int) {
	t.Helper()
	for i := range n {
		code := fmt.Sprintf("%s%08d", prefix, i)
		srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
		out, err := tl.Engine.Redeem(context.Background(), sync.Request{Code: code, Source: "cli"})
		if err != nil || out.Kind != sync.Consumed {
			t.Fatalf("redeem %s: %+v %v", code, out, err)
		}
	}
}

func countRedemptions(t *testing.T, path string) int {
	t.Helper()
	db, err := store.Open(path, store.Options{ReadOnly: true, LockTimeout: time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("%s fails its check: %v", path, err)
	}
	counts, err := db.CountByState()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range counts {
		n += c
	}
	return n
}

// TestHotBackupWhileTillRuns: with the till running and holding the
// journal's lock, `cardtill db backup` and `cardtill db check` go through
// the till's control socket while redemptions keep being journaled; the
// backup opens and passes Check, and holds at least what was journaled
// before it was asked for.
func TestHotBackupWhileTillRuns(t *testing.T) {
	t.Parallel()
	srv, cfg, dbPath := fakeTill(t)
	srv.AddCard(wechattest.Card{CardID: "pCard", Title: "¥20 off"})
	tl, _, _ := runningTill(t, cfg)
	redeem(t, srv, tl, "1", 40)

	sock := control.SocketPath(dbPath)
	fi, err := os.Lstat(sock)
	if err != nil || fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("control socket %s: %v %v", sock, fi.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dbPath), ".cardtill-ctl-*")); len(left) != 0 {
		t.Fatalf("private listen folder left behind: %v", left)
	}

	// Redemptions go on while the backups are written.
	more := make(chan struct{})
	go func() {
		defer close(more)
		for i := range 40 {
			code := fmt.Sprintf("2%08d", i)
			srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
			if _, err := tl.Engine.Redeem(context.Background(), sync.Request{Code: code, Source: "cli"}); err != nil {
				t.Errorf("redeem during backup: %v", err)
				return
			}
		}
	}()
	dir := t.TempDir()
	for i := range 3 {
		bk := filepath.Join(dir, fmt.Sprintf("backup-%d.db", i))
		code, out, errs := runCLI(t, "--config", cfg, "db", "backup", bk)
		if code != exitOK || !strings.Contains(out, "by the running cardtill") || !strings.Contains(out, "checked") {
			t.Fatalf("hot backup: %d %s %s", code, out, errs)
		}
		if n := countRedemptions(t, bk); n < 40 {
			t.Fatalf("backup %d holds %d redemptions, want at least 40", i, n)
		}
		if fi, err := os.Stat(bk); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("backup mode: %v %v", fi.Mode(), err)
		}
	}
	<-more
	bk := filepath.Join(dir, "after.db")
	if code, out, errs := runCLI(t, "--config", cfg, "db", "backup", bk); code != exitOK {
		t.Fatalf("hot backup: %d %s %s", code, out, errs)
	}
	if n := countRedemptions(t, bk); n != 80 {
		t.Fatalf("backup after all redemptions holds %d, want 80", n)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*part*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}

	code, out, errs := runCLI(t, "--config", cfg, "db", "check")
	if code != exitOK || !strings.Contains(out, "80 redemptions") || !strings.Contains(out, "inside the running cardtill") {
		t.Fatalf("check while running: %d %s %s", code, out, errs)
	}

	// Bad input: a clear error, nothing written, the till unharmed.
	for _, c := range []struct{ path, want string }{
		{bk, "already exists"},
		{filepath.Join(dir, "no-such-folder", "b.db"), "no-such-folder"},
		{filepath.Join(bk, "b.db"), "not a folder"},
	} {
		if code, out, errs := runCLI(t, "--config", cfg, "db", "backup", c.path); code != exitUsage || !strings.Contains(errs, c.want) {
			t.Fatalf("backup to %s: %d %s %s", c.path, code, out, errs)
		}
	}
	// The server checks paths itself, whoever asks.
	c, err := control.Dial(context.Background(), sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, p := range []string{"relative.db", dir + "/x/../y.db", "", bk, dir + "/a\x00b"} {
		if _, err := c.Backup(context.Background(), p); err == nil {
			t.Fatalf("the control socket wrote a backup to %q", p)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "y.db")); err == nil {
		t.Fatal("unclean path written")
	}
	// A caller that sees another folder under that name (systemd's
	// PrivateTmp) is told so instead of getting a backup it cannot find.
	other := filepath.Join(dir, "other.db")
	code, body := postControl(t, sock, "/backup", `{"path": `+strconv.Quote(other)+`, "folder": "1:2"}`)
	if runtime.GOOS != "windows" && (code == 200 || !strings.Contains(body, "sees another folder")) {
		t.Fatalf("backup into a folder seen differently: %d %s", code, body)
	}
	redeem(t, srv, tl, "3", 1)
}

// TestBackupStaleSocket: a socket file left by a killed cardtill neither
// stops a backup of a stopped till nor the next till from serving, and a
// journal held by a process that does not answer gives a clear error.
func TestBackupStaleSocket(t *testing.T) {
	t.Parallel()
	srv, cfg, dbPath := fakeTill(t)
	srv.AddCard(wechattest.Card{CardID: "pCard", Title: "¥20 off"})
	sock := control.SocketPath(dbPath)

	// A till that ran once and was killed: journal closed, socket left.
	tl, _, stop := runningTill(t, cfg)
	redeem(t, srv, tl, "1", 5)
	stop()
	if _, err := os.Lstat(sock); err == nil {
		t.Fatal("a till that stopped left its socket")
	}
	staleSocket(t, sock)

	dir := t.TempDir()
	code, out, errs := runCLI(t, "--config", cfg, "db", "backup", filepath.Join(dir, "stopped.db"))
	if code != exitOK || strings.Contains(out, "running cardtill") {
		t.Fatalf("backup of a stopped till with a stale socket: %d %s %s", code, out, errs)
	}
	if n := countRedemptions(t, filepath.Join(dir, "stopped.db")); n != 5 {
		t.Fatalf("backup holds %d redemptions, want 5", n)
	}

	// The next till replaces the stale socket and answers.
	staleSocket(t, sock)
	tl, _, _ = runningTill(t, cfg)
	redeem(t, srv, tl, "2", 5)
	if code, out, errs := runCLI(t, "--config", cfg, "db", "backup", filepath.Join(dir, "running.db")); code != exitOK || !strings.Contains(out, "running cardtill") {
		t.Fatalf("backup after a stale socket was replaced: %d %s %s", code, out, errs)
	}
	if n := countRedemptions(t, filepath.Join(dir, "running.db")); n != 10 {
		t.Fatalf("backup holds %d redemptions, want 10", n)
	}
}

// TestBackupHolderNotAnswering: a journal locked by a process without a
// control socket (an older cardtill, a one-shot command) gives a clear
// error, and a till whose socket cannot be made still serves.
func TestBackupHolderNotAnswering(t *testing.T) {
	t.Parallel()
	srv, cfg, dbPath := fakeTill(t)
	shortLockWait(t, cfg) // db backup waits for the till's lock
	srv.AddCard(wechattest.Card{CardID: "pCard", Title: "¥20 off"})
	sock := control.SocketPath(dbPath)
	if err := os.WriteFile(sock, []byte("in the way"), 0o600); err != nil {
		t.Fatal(err)
	}
	tl, logs, _ := runningTill(t, cfg)
	redeem(t, srv, tl, "1", 2)
	if !strings.Contains(logs.String(), "hot backup and check are unavailable") {
		t.Fatalf("no warning logged: %s", logs)
	}
	if b, _ := os.ReadFile(sock); string(b) != "in the way" {
		t.Fatal("a file that is not a socket was replaced")
	}
	bk := filepath.Join(t.TempDir(), "b.db")
	code, out, errs := runCLI(t, "--config", cfg, "db", "backup", bk)
	if code != exitUsage || !strings.Contains(errs, "another cardtill holds") || !strings.Contains(errs, "nothing answers on its control socket") {
		t.Fatalf("backup of a journal held by a silent process: %d %s %s", code, out, errs)
	}
	if _, err := os.Stat(bk); err == nil {
		t.Fatal("a backup file was written")
	}
}

// staleSocket leaves a socket file at path with nobody listening, as a
// killed process does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&fs.ModeSocket == 0 {
		t.Fatalf("no stale socket: %v", err)
	}
}

// TestRunAndSyncServeTheControlSocket: `cardtill run` and `cardtill sync`
// themselves serve the control socket, so `db backup` and `db check` work
// while they run, and they remove it when they end.
func TestRunAndSyncServeTheControlSocket(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"sync", "run"} {
		t.Run(cmd, func(t *testing.T) {
			_, cfg, dbPath := fakeTill(t)
			started := make(chan string, 1)
			ctx, cancel := context.WithCancel(till.WithOpsStarted(context.Background(), func(sock string) { started <- sock }))
			defer cancel()
			in, typed := io.Pipe()
			defer typed.Close()
			var out, errb bytes.Buffer
			done := make(chan int, 1)
			go func() { done <- run(ctx, []string{"--config", cfg, cmd}, in, &out, &errb) }()
			var sock string
			select {
			case sock = <-started:
			case code := <-done:
				t.Fatalf("cardtill %s ended (%d) before serving: %s", cmd, code, errb.String())
			case <-time.After(time.Minute): // a guard against hanging, not a timing
				t.Fatalf("cardtill %s never started its operations", cmd)
			}
			if sock != control.SocketPath(dbPath) {
				t.Fatalf("control socket %q, want %q", sock, control.SocketPath(dbPath))
			}
			bk := filepath.Join(t.TempDir(), "b.db")
			if code, o, e := runCLI(t, "--config", cfg, "db", "backup", bk); code != exitOK || !strings.Contains(o, "by the running cardtill") {
				t.Fatalf("backup while %s runs: %d %s %s", cmd, code, o, e)
			}
			if code, o, e := runCLI(t, "--config", cfg, "db", "check"); code != exitOK || !strings.Contains(o, "inside the running cardtill") {
				t.Fatalf("check while %s runs: %d %s %s", cmd, code, o, e)
			}
			cancel()
			if code := <-done; code != exitOK {
				t.Fatalf("cardtill %s: exit %d: %s", cmd, code, errb.String())
			}
			if _, err := os.Lstat(sock); err == nil {
				t.Fatalf("cardtill %s left its socket", cmd)
			}
		})
	}
}

// postControl posts body to path on the control socket sock as any client
// could, without the control package's client.
func postControl(t *testing.T, sock, path, body string) (int, string) {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", sock)
	}}}
	defer hc.CloseIdleConnections()
	resp, err := hc.Post("http://cardtill"+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
