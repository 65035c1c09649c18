package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/wechat/wechattest"
)

// TestRunRedeemsOnTheRealConfig starts `cardtill run` on a config pointing
// at the fake WeChat, types a code into the till screen and quits: WeChat
// consumed it once, and nothing was logged to the screen.
func TestRunRedeemsOnTheRealConfig(t *testing.T) {
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
	var out, errb bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- run(context.Background(), []string{"--config", cfg, "run"}, in, &out, &errb) }()
	if _, err := io.WriteString(typed, wechattest.DemoNormal+"\r"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for wx.ConsumeCount(wechattest.DemoNormal) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the code typed into cardtill run was never consumed; stderr: %s", errb.String())
		}
		time.Sleep(5 * time.Millisecond) // polling with a deadline
	}
	// Ctrl+C quits; if the answer is still on its way the screen asks first,
	// and y confirms (the write ends when the pipe closes if never read)
	go func() { _, _ = io.WriteString(typed, "\x03y") }()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d; stderr: %s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("cardtill run did not quit on Ctrl+C")
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
