package scanner_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

	"cardtill/scanner"
)

// fakeScanner is the device end of a real pty: the test writes what a
// scanner would send to the master; the Reader opens the slave with
// tarm/serial.
type fakeScanner struct {
	master *os.File
	path   string // the slave, e.g. /dev/pts/7
}

func newFakeScanner(tb testing.TB) *fakeScanner {
	tb.Helper()
	m, s, err := pty.Open()
	if err != nil {
		tb.Skipf("no pty on this machine: %v", err)
	}
	path := s.Name()
	// The Reader opens its own handle; keeping this one open would hide a
	// hang-up.
	s.Close()
	tb.Cleanup(func() { m.Close() })
	return &fakeScanner{master: m, path: path}
}

func (f *fakeScanner) send(tb testing.TB, s string) {
	tb.Helper()
	if _, err := f.master.Write([]byte(s)); err != nil {
		tb.Fatalf("write to pty: %v", err)
	}
}

// hangUp is the scanner being unplugged.
func (f *fakeScanner) hangUp() { f.master.Close() }

// testOptions reads with short timeouts so hang-ups and Close are quick.
func testOptions() scanner.Options {
	return scanner.Options{
		ReadTimeout: 100 * time.Millisecond,
		MinBackoff:  5 * time.Millisecond,
		MaxBackoff:  40 * time.Millisecond,
	}
}

func openReader(tb testing.TB, cfg scanner.Config, o scanner.Options) *scanner.Reader {
	tb.Helper()
	r, err := scanner.Open(context.Background(), cfg, o)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}

// next returns the next event, failing after a generous deadline.
func next(tb testing.TB, r *scanner.Reader) scanner.Event {
	tb.Helper()
	select {
	case ev, ok := <-r.Events():
		if !ok {
			tb.Fatal("events closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		tb.Fatal("no event within 10s")
	}
	panic("unreachable")
}

func expect(tb testing.TB, r *scanner.Reader, kind scanner.EventKind) scanner.Event {
	tb.Helper()
	ev := next(tb, r)
	if ev.Kind != kind {
		tb.Fatalf("event %v (%+v), want %v", ev.Kind, ev, kind)
	}
	return ev
}

// summary renders a scan event the way the table tests compare them.
func summary(ev scanner.Event) string {
	var re *scanner.RejectError
	switch {
	case ev.Kind == scanner.EventBadScan && errors.As(ev.Scan.Err, &re):
		return "bad:" + re.Kind.String()
	case ev.Kind == scanner.EventScan && errors.As(ev.Scan.Err, &re):
		return "refused:" + re.Kind.String()
	case ev.Kind == scanner.EventScan:
		p := ev.Scan.Payload
		return strings.TrimRight("code:"+p.Code+" "+p.EncryptCode+" "+p.CardID, " ")
	}
	return ev.Kind.String()
}

func TestReaderFramesOverARealPTY(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		cfg    scanner.Config
		writes []string
		want   []string
	}{
		{"cr", scanner.Config{Terminator: "cr"}, []string{"110201201245\r"}, []string{"code:110201201245"}},
		{"lf", scanner.Config{Terminator: "lf"}, []string{"110201201245\n"}, []string{"code:110201201245"}},
		{"crlf", scanner.Config{Terminator: "crlf"}, []string{"110201201245\r\n"}, []string{"code:110201201245"}},
		{"tab", scanner.Config{Terminator: "tab"}, []string{"110201201245\t"}, []string{"code:110201201245"}},
		{"etx", scanner.Config{Terminator: "etx"}, []string{"\x02110201201245\x03"}, []string{"code:110201201245"}},
		{"none ends on frame_timeout", scanner.Config{Terminator: "none", FrameTimeout: 30 * time.Millisecond},
			[]string{"110201201245"}, []string{"code:110201201245"}},
		{"split frame", scanner.Config{FrameTimeout: 5 * time.Second}, []string{"1102", "0120", "1245\r"}, []string{"code:110201201245"}},
		{"several frames in one write", scanner.Config{}, []string{"111111111111\r222222222222\r"},
			[]string{"code:111111111111", "code:222222222222"}},
		{"prefix and AIM stripped", scanner.Config{Prefix: "S:", Suffix: ";"}, []string{"S:]Q1110201201245;\r"},
			[]string{"code:110201201245"}},
		{"noise, garbage and a long frame between good ones", scanner.Config{MaxLength: 32},
			[]string{"111111111111\r", "\x00\x13\xff\r", strings.Repeat("Z", 100) + "\r", "4006381333931\r", "222222222222\r"},
			[]string{"code:111111111111", "bad:non_printable", "bad:too_long", "refused:product_barcode", "code:222222222222"}},
		{"encrypt_code link", scanner.Config{}, []string{"https://x.example/c?encrypt_code=QUJ%2BRA%3D%3D&card_id=pA\r"},
			[]string{"code: QUJ+RA== pA"}},
		{"cut-off frame is reported", scanner.Config{FrameTimeout: 20 * time.Millisecond}, []string{"1102012"},
			[]string{"bad:incomplete"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := newFakeScanner(t)
			tt.cfg.Port = dev.path
			r := openReader(t, tt.cfg, testOptions())
			if ev := expect(t, r, scanner.EventConnected); ev.Port != dev.path {
				t.Fatalf("Connected for port %q", ev.Port)
			}
			for _, w := range tt.writes {
				dev.send(t, w)
			}
			for i, want := range tt.want {
				ev := next(t, r)
				if g := summary(ev); g != want {
					t.Fatalf("event %d = %s (%+v), want %s", i, g, ev, want)
				}
				if ev.Scan.Source != "serial:"+dev.path {
					t.Fatalf("source %q", ev.Scan.Source)
				}
			}
		})
	}
}

// A consumer that falls behind loses nothing: the Reader waits for room
// (the tty buffers meanwhile) and every frame arrives, in order.
func TestReaderNeverDropsScans(t *testing.T) {
	t.Parallel()
	dev := newFakeScanner(t)
	o := testOptions()
	o.EventBuffer = 2
	r := openReader(t, scanner.Config{Port: dev.path}, o)
	expect(t, r, scanner.EventConnected)
	const n = 300
	var all strings.Builder
	for i := range n {
		fmt.Fprintf(&all, "%012d\r", i)
	}
	go dev.master.Write([]byte(all.String())) // may block until the Reader catches up
	for i := range n {
		ev := expect(t, r, scanner.EventScan)
		if want := fmt.Sprintf("%012d", i); ev.Scan.Payload.Code != want {
			t.Fatalf("scan %d = %q, want %q", i, ev.Scan.Payload.Code, want)
		}
	}
}

// The scanner is unplugged and plugged back in: the USB device comes back
// as a new tty behind the same stable path (a by-id symlink).
func TestReaderReconnectsAfterHangUp(t *testing.T) {
	t.Parallel()
	link := filepath.Join(t.TempDir(), "usb-scanner")
	dev := newFakeScanner(t)
	if err := os.Symlink(dev.path, link); err != nil {
		t.Fatal(err)
	}
	r := openReader(t, scanner.Config{Port: link}, testOptions())
	expect(t, r, scanner.EventConnected)
	dev.send(t, "111111111111\r")
	if ev := expect(t, r, scanner.EventScan); ev.Scan.Payload.Code != "111111111111" {
		t.Fatalf("scan %+v", ev.Scan)
	}

	dev.hangUp()
	ev := expect(t, r, scanner.EventDisconnected)
	if !errors.Is(ev.Err, scanner.ErrDisconnected) {
		t.Fatalf("Disconnected.Err = %v, want ErrDisconnected", ev.Err)
	}
	t.Logf("hang-up reported as: %v", ev.Err)

	// Re-plugged: a new pty behind the same path.
	dev2 := newFakeScanner(t)
	tmp := link + ".new"
	if err := os.Symlink(dev2.path, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	// While the path is dangling the Reader may report why it cannot open;
	// then it connects.
	for {
		ev := next(t, r)
		if ev.Kind == scanner.EventConnected {
			break
		}
		if ev.Kind != scanner.EventDisconnected {
			t.Fatalf("event %v before reconnecting", ev.Kind)
		}
	}
	dev2.send(t, "2222\r")
	if ev := expect(t, r, scanner.EventScan); ev.Scan.Payload.Code != "2222" {
		t.Fatalf("scan after reconnect %+v", ev.Scan)
	}
}

// A by-id link re-pointed to another device (replugged while the old tty
// lingers) is a disconnect from the old one and a connect to the new one.
func TestReaderFollowsRepointedPath(t *testing.T) {
	t.Parallel()
	link := filepath.Join(t.TempDir(), "usb-scanner")
	dev := newFakeScanner(t)
	if err := os.Symlink(dev.path, link); err != nil {
		t.Fatal(err)
	}
	r := openReader(t, scanner.Config{Port: link}, testOptions())
	expect(t, r, scanner.EventConnected)
	dev2 := newFakeScanner(t)
	if err := os.Symlink(dev2.path, link+".new"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link+".new", link); err != nil {
		t.Fatal(err)
	}
	ev := expect(t, r, scanner.EventDisconnected)
	if !strings.Contains(ev.Err.Error(), "now names another device") {
		t.Fatalf("Err = %v", ev.Err)
	}
	expect(t, r, scanner.EventConnected)
	dev2.send(t, "3333\r")
	if ev := expect(t, r, scanner.EventScan); ev.Scan.Payload.Code != "3333" {
		t.Fatalf("scan %+v", ev.Scan)
	}
}

// The device path vanishing (udev removing the node) is a disconnect even
// when reads only time out.
func TestReaderNoticesPathGone(t *testing.T) {
	t.Parallel()
	link := filepath.Join(t.TempDir(), "scanner")
	dev := newFakeScanner(t)
	if err := os.Symlink(dev.path, link); err != nil {
		t.Fatal(err)
	}
	r := openReader(t, scanner.Config{Port: link}, testOptions())
	expect(t, r, scanner.EventConnected)
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	ev := expect(t, r, scanner.EventDisconnected)
	if !errors.Is(ev.Err, scanner.ErrDisconnected) || !strings.Contains(ev.Err.Error(), "gone") {
		t.Fatalf("Err = %v", ev.Err)
	}
	// Trying to reopen a missing port says so, once.
	ev = expect(t, r, scanner.EventDisconnected)
	var oe *scanner.OpenError
	if !errors.As(ev.Err, &oe) || oe.Kind != scanner.OpenMissing {
		t.Fatalf("reopen error = %v, want OpenMissing", ev.Err)
	}
	// The same reason is not repeated; the link coming back reconnects.
	if err := os.Symlink(dev.path, link); err != nil {
		t.Fatal(err)
	}
	expect(t, r, scanner.EventConnected)
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "ttyUSB9")
	_, err := scanner.Open(context.Background(), scanner.Config{Port: missing}, testOptions())
	var oe *scanner.OpenError
	if !errors.As(err, &oe) || oe.Kind != scanner.OpenMissing || !strings.Contains(err.Error(), "plug the scanner in") {
		t.Fatalf("missing port: %v", err)
	}

	regular := filepath.Join(t.TempDir(), "file")
	os.WriteFile(regular, nil, 0o600)
	_, err = scanner.Open(context.Background(), scanner.Config{Port: regular}, testOptions())
	if !errors.As(err, &oe) || oe.Kind != scanner.OpenNotSerial {
		t.Fatalf("regular file: %v", err)
	}

	dev := newFakeScanner(t)
	r := openReader(t, scanner.Config{Port: dev.path}, testOptions())
	expect(t, r, scanner.EventConnected)
	_, err = scanner.Open(context.Background(), scanner.Config{Port: dev.path}, testOptions())
	if !errors.As(err, &oe) || oe.Kind != scanner.OpenBusy || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("second reader of the same port: %v", err)
	}

	_, err = scanner.Open(context.Background(), scanner.Config{Port: dev.path, Baud: 1234}, testOptions())
	var ce *scanner.ConfigError
	if !errors.As(err, &ce) || ce.Key != "baud" {
		t.Fatalf("bad baud: %v", err)
	}
	_, err = scanner.Open(context.Background(), scanner.Config{}, testOptions())
	if !errors.As(err, &ce) || ce.Key != "port" {
		t.Fatalf("no port: %v", err)
	}
}

func TestWaitForPort(t *testing.T) {
	t.Parallel()
	link := filepath.Join(t.TempDir(), "later")
	o := testOptions()
	o.WaitForPort = true
	r := openReader(t, scanner.Config{Port: link}, o)
	ev := expect(t, r, scanner.EventDisconnected)
	var oe *scanner.OpenError
	if !errors.As(ev.Err, &oe) || oe.Kind != scanner.OpenMissing {
		t.Fatalf("first event error %v", ev.Err)
	}
	dev := newFakeScanner(t)
	if err := os.Symlink(dev.path, link); err != nil {
		t.Fatal(err)
	}
	expect(t, r, scanner.EventConnected)
	dev.send(t, "9\r")
	expect(t, r, scanner.EventScan)
}

func TestCloseEndsEvents(t *testing.T) {
	t.Parallel()
	dev := newFakeScanner(t)
	ctx, cancel := context.WithCancel(context.Background())
	r, err := scanner.Open(ctx, scanner.Config{Port: dev.path}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	expect(t, r, scanner.EventConnected)
	cancel() // cancelling the context stops the reader like Close
	for range r.Events() {
	}
	r.Close()
	r.Close() // twice is fine
	// The port is free again.
	r2 := openReader(t, scanner.Config{Port: dev.path}, testOptions())
	expect(t, r2, scanner.EventConnected)
}

// TestReaderReplugSoak unplugs and replugs the scanner many times with scans
// in between. CARDTILL_SOAK=N runs N cycles (default 3).
func TestReaderReplugSoak(t *testing.T) {
	t.Parallel()
	cycles := 3
	if v := os.Getenv("CARDTILL_SOAK"); v != "" {
		fmt.Sscan(v, &cycles)
	}
	link := filepath.Join(t.TempDir(), "usb-scanner")
	dev := newFakeScanner(t)
	if err := os.Symlink(dev.path, link); err != nil {
		t.Fatal(err)
	}
	r := openReader(t, scanner.Config{Port: link}, testOptions())
	expect(t, r, scanner.EventConnected)
	for i := range cycles {
		code := fmt.Sprintf("%012d", i)
		dev.send(t, "110"+code[3:]+"\r")
		if ev := expect(t, r, scanner.EventScan); ev.Scan.Payload.Code != "110"+code[3:] {
			t.Fatalf("cycle %d: scan %+v", i, ev.Scan)
		}
		dev.hangUp()
		expect(t, r, scanner.EventDisconnected)
		dev = newFakeScanner(t)
		if err := os.Symlink(dev.path, link+".new"); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(link+".new", link); err != nil {
			t.Fatal(err)
		}
		for ev := next(t, r); ev.Kind != scanner.EventConnected; ev = next(t, r) {
			if ev.Kind != scanner.EventDisconnected {
				t.Fatalf("cycle %d: %v before reconnecting", i, ev.Kind)
			}
		}
	}
}
