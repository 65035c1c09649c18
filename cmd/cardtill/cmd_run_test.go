package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest"

	"cardtill/wechat/wechattest"
)

// TestRunRedeemsOnTheRealConfig starts `cardtill run` on a config pointing
// at the fake WeChat, types a code into the till screen and quits: WeChat
// consumed it once, and nothing was logged to the screen.
func TestRunRedeemsOnTheRealConfig(t *testing.T) {
	t.Parallel()
	wx := wechattest.New()
	t.Cleanup(wx.Close)
	wx.LoadDemo()
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte(wx.Secret), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeFile(t, "run.toml", fmt.Sprintf(`
[terminal]
id = "till-2"
[wechat]
api_base = %q
token_source = "stable"
appid = %q
secret_file = %q
[store]
path = %q
[log]
file = %q
[shift]
on_scan_without_shift = "open"
default_cashier = "Wang Fang"
[ui]
lang = "en"
`, wx.URL, wx.AppID, secret, filepath.Join(dir, "journal.db"), filepath.Join(dir, "cardtill.log")))

	in, typed := io.Pipe()
	out := &screenBuffer{}
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), []string{"--config", cfg, "run"}, in, out, &errb) }()
	if _, err := io.WriteString(typed, wechattest.DemoNormal+"\r"); err != nil {
		t.Fatal(err)
	}
	// Wait for the answer on the screen, not for WeChat's count: WeChat
	// counts the consume before it answers, so Ctrl+C sent then reached the
	// screen while the redemption was still in flight, and raced its answer
	// and the journal's close.
	teatest.WaitFor(t, out, func(b []byte) bool { return strings.Contains(ansi.Strip(string(b)), "REDEEMED") },
		teatest.WithDuration(20*time.Second), teatest.WithCheckInterval(5*time.Millisecond))
	// Nothing is in flight now. Ctrl+C quits; if the status has not yet
	// caught up with the answer (the queue still counts the consume) the
	// screen asks first, and y confirms. The write ends when the pipe
	// closes if it is never read.
	go func() { _, _ = io.WriteString(typed, "\x03y") }()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d; stderr: %s", code, errb.String())
		}
	case <-time.After(20 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("cardtill run did not quit on Ctrl+C; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
	}
	_ = typed.Close()
	if n := wx.ConsumeCount(wechattest.DemoNormal); n != 1 {
		t.Fatalf("consumed %d times", n)
	}
	if s := out.String(); strings.Contains(s, "level=") || strings.Contains(s, `"level"`) {
		t.Fatalf("logs reached the screen: %q", s)
	}
	if strings.Contains(out.String()+errb.String(), wx.Secret) {
		t.Fatal("the AppSecret was printed")
	}
}

// screenBuffer is the screen of a till under test: bubbletea writes to it
// from its renderer goroutine while teatest.WaitFor reads what is new.
type screenBuffer struct {
	mu   stdsync.Mutex
	all  bytes.Buffer
	read int
}

func (b *screenBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.all.Write(p)
}

// Read returns what was written since the last Read (io.EOF when nothing).
func (b *screenBuffer) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.read == b.all.Len() {
		return 0, io.EOF
	}
	n := copy(p, b.all.Bytes()[b.read:])
	b.read += n
	return n, nil
}

// String is everything written.
func (b *screenBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.all.String()
}
