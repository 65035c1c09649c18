//go:build linux

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"cardtill/hub"
)

// TestHubAdminAddOnATerminal: on a real pty 'hub admin add' asks for the
// password twice without echo: what is typed never comes back on the
// terminal nor in any output, the stored hash checks it, and two different
// passwords add nothing.
func TestHubAdminAddOnATerminal(t *testing.T) {
	t.Parallel()
	cfg, storePath := hubConfig(t)
	const pw = "pa55word-typed-here"
	for _, tc := range []struct {
		name, second string
		ok           bool
	}{{"zhao", pw, true}, {"li", pw + "x", false}} {
		m, s, err := pty.Open()
		if err != nil {
			t.Skip("no pty:", err)
		}
		var echoed bytes.Buffer
		copied := make(chan struct{})
		go func() { _, _ = io.Copy(&echoed, m); close(copied) }()
		done := make(chan int, 1)
		var out, errb lockedBuffer
		go func() {
			done <- run(context.Background(), []string{"--config", cfg, "hub", "admin", "add", tc.name}, s, &out, &errb)
		}()
		// Echo goes off before the read (the prompt is on stderr, not the
		// pty): wait for it before typing, as the PIN's test does.
		deadline := time.Now().Add(5 * time.Second)
		for !echoOff(t, s) {
			if time.Now().After(deadline) {
				t.Fatal("echo never turned off")
			}
			time.Sleep(5 * time.Millisecond) // polling the terminal's mode: nothing to wait on
		}
		fmt.Fprint(m, pw+"\r")
		deadline = time.Now().Add(5 * time.Second)
		for !strings.Contains(errb.String(), "again") {
			if time.Now().After(deadline) {
				t.Fatal("never asked again")
			}
			time.Sleep(5 * time.Millisecond)
		}
		for !echoOff(t, s) {
			time.Sleep(5 * time.Millisecond)
		}
		fmt.Fprint(m, tc.second+"\r")
		code := <-done
		s.Close()
		m.Close()
		<-copied
		if strings.Contains(echoed.String(), "pa55") || strings.Contains(out.String()+errb.String(), "pa55") {
			t.Fatalf("the password was echoed or printed: %q / %q / %q", echoed.String(), out.String(), errb.String())
		}
		if tc.ok != (code == 0) {
			t.Fatalf("%s: exit %d: %s", tc.name, code, errb.String())
		}
		if !tc.ok && !strings.Contains(errb.String(), "differ") {
			t.Fatalf("two passwords: %q", errb.String())
		}
	}
	st, err := hub.OpenStore(storePath, hub.StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, ok, err := st.AccountHash("zhao")
	if err != nil || !ok {
		t.Fatalf("zhao not stored: %v %v", ok, err)
	}
	if good, _ := hub.VerifyPassword(h, pw); !good {
		t.Fatal("the stored hash does not check the password typed")
	}
	if _, ok, _ := st.AccountHash("li"); ok {
		t.Fatal("li stored with two different passwords")
	}
}
