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
	"golang.org/x/sys/unix"

	"cardtill/pin"
)

// TestPinHashOnATerminal: on a real pty 'pin hash' asks twice without
// echo: the PIN typed never comes back on the terminal, and the line
// printed checks it. Two different PINs hash nothing.
func TestPinHashOnATerminal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		second string
		ok     bool
	}{{"395172", true}, {"395173", false}} {
		m, s, err := pty.Open()
		if err != nil {
			t.Skip("no pty:", err)
		}
		var echoed bytes.Buffer
		copied := make(chan struct{})
		go func() { _, _ = io.Copy(&echoed, m); close(copied) }()
		done := make(chan int, 1)
		var out bytes.Buffer
		var errb lockedBuffer
		go func() { done <- run(context.Background(), []string{"pin", "hash"}, s, &out, &errb) }()
		// The terminal buffers what is typed; ReadPassword turns echo off
		// before it reads, and the prompt is on stderr (not the pty), so
		// wait for echo to be off before typing.
		deadline := time.Now().Add(5 * time.Second)
		for !echoOff(t, s) {
			if time.Now().After(deadline) {
				t.Fatal("echo never turned off")
			}
			time.Sleep(5 * time.Millisecond) // polling the terminal's mode: nothing to wait on
		}
		fmt.Fprint(m, "395172\r")
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
		if strings.Contains(echoed.String(), "395") || strings.Contains(out.String()+errb.String(), "395") {
			t.Fatalf("the PIN was echoed or printed: %q / %q / %q", echoed.String(), out.String(), errb.String())
		}
		if !tc.ok {
			if code == 0 || out.Len() > 0 || !strings.Contains(errb.String(), "differ") {
				t.Fatalf("two PINs: exit %d, %q %q", code, out.String(), errb.String())
			}
			continue
		}
		var h string
		if _, err := fmt.Sscanf(strings.TrimSpace(out.String()), "manager_pin_hash = %q", &h); err != nil || code != 0 {
			t.Fatalf("exit %d, printed %q: %v (%s)", code, out.String(), err, errb.String())
		}
		if ok, _ := pin.Verify(h, "395172"); !ok {
			t.Fatal("the hash does not check the PIN typed")
		}
	}
}

// echoOff reports whether the terminal's echo is off.
func echoOff(t *testing.T, f interface{ Fd() uintptr }) bool {
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	return tio.Lflag&unix.ECHO == 0
}
