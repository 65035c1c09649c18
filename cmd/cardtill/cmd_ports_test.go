package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

func TestPortsJSON(t *testing.T) {
	t.Parallel()
	code, out, errOut := runCmd(t, "--config", "/nonexistent/config.toml", "ports", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("not a JSON array: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r["name"] == "" || r["device"] == "" {
			t.Fatalf("row without name/device: %v", r)
		}
	}
}

func TestPortsUsage(t *testing.T) {
	t.Parallel()
	if code, _, errOut := runCmd(t, "ports", "/dev/ttyX"); code != exitUsage || !strings.Contains(errOut, "--listen") {
		t.Fatalf("PORT without --listen: exit %d, %s", code, errOut)
	}
	if code, _, errOut := runCmd(t, "--config", "/nonexistent.toml", "ports", "--listen"); code != exitUsage || !strings.Contains(errOut, "no port") {
		t.Fatalf("--listen without a port: exit %d, %s", code, errOut)
	}
}

// ports --listen reads a real pty with the [scanner] settings of the config
// file (here: LF-terminated, with a prefix) and prints each scan.
func TestPortsListen(t *testing.T) {
	t.Parallel()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	path := s.Name()
	s.Close()
	defer m.Close()
	cfg := writeFile(t, "config.toml", fmt.Sprintf(`[scanner]
port = %q
terminator = "lf"
prefix = "S:"
`, path))

	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		var errOut lockedBuffer
		code := run(context.Background(), []string{"--config", cfg, "ports", "--listen", "--json", "--count", "2"},
			strings.NewReader(""), pw, &errOut)
		if code != exitOK {
			t.Errorf("exit %d: %s", code, errOut.String())
		}
		pw.Close()
		done <- code
	}()
	lines := bufio.NewScanner(pr)
	read := func() map[string]any {
		t.Helper()
		if !lines.Scan() {
			t.Fatalf("output ended: %v", lines.Err())
		}
		var v map[string]any
		if err := json.Unmarshal(lines.Bytes(), &v); err != nil {
			t.Fatalf("line %q: %v", lines.Text(), err)
		}
		return v
	}
	if ev := read(); ev["event"] != "connected" || ev["port"] != path {
		t.Fatalf("first line %v", ev)
	}
	if _, err := m.Write([]byte("S:]Q1110201201245\n4006381333931\n")); err != nil {
		t.Fatal(err)
	}
	ev := read()
	p, _ := ev["payload"].(map[string]any)
	if ev["event"] != "scan" || p["code"] != "110201201245" || ev["symbology"] != "]Q1" {
		t.Fatalf("scan line %v", ev)
	}
	if ev := read(); ev["refused"] != "product_barcode" || !strings.Contains(ev["error"].(string), "not a coupon") {
		t.Fatalf("refusal line %v", ev)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ports --listen --count 2 did not stop")
	}
}

func TestPortsListenText(t *testing.T) {
	t.Parallel()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	path := s.Name()
	s.Close()
	defer m.Close()
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		var errOut lockedBuffer
		if code := run(context.Background(), []string{"--config", "/nonexistent.toml", "ports", "--listen", path, "--count", "1"},
			strings.NewReader(""), pw, &errOut); code != exitOK {
			t.Errorf("exit %d: %s", code, errOut.String())
		}
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	var got []string
	for lines.Scan() {
		got = append(got, lines.Text())
		if strings.Contains(lines.Text(), "connected:") {
			m.Write([]byte("https://x.example/?encrypt_code=QUJ%2BRA%3D%3D\r"))
		}
	}
	<-done
	out := strings.Join(got, "\n")
	for _, want := range []string{"Listening on " + path + " (9600 baud, terminator cr)", "connected: " + path, `encrypt_code="QUJ+RA=="`} {
		if !strings.Contains(out, want) {
			t.Fatalf("output lacks %q:\n%s", want, out)
		}
	}
	t.Log("\n" + out)
}
