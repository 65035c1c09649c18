package main

import (
	"bytes"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/text/encoding/simplifiedchinese"

	"cardtill/store"
)

// `shift report --print` sends the report, in GB18030 between ESC/POS
// init and cut, to the printer of [printer] (here a serial port: a pty);
// a missing printer is a clear error with exit 1.
func TestShiftReportPrint(t *testing.T) {
	t.Parallel()
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer master.Close()
	defer slave.Close()
	journal := filepath.Join(t.TempDir(), "journal.db")
	cfg := writeFile(t, "config.toml", fmt.Sprintf("[store]\npath = %q\n[terminal]\nid = \"till-07\"\n[log]\nfile = \"-\"\n[ui]\nlang = \"zh\"\n[printer]\nport = %q\nbaud = 9600\nwidth = 32\n", journal, slave.Name()))
	db, err := store.Open(journal, store.Options{Terminal: "till-07"})
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := db.OpenShift("till-07", "王小明")
	if _, err := db.Create(store.Redemption{Code: "111111111111", CardID: "cardA", ShiftID: sh.ID, Cashier: "王小明", State: store.Consumed}, "test", store.Received, store.Checked, store.Consuming); err != nil {
		t.Fatal(err)
	}
	db.Close()

	got := make(chan []byte, 1)
	go func() {
		var b bytes.Buffer
		buf := make([]byte, 4096)
		for !bytes.HasSuffix(b.Bytes(), []byte{0x1d, 0x56, 0x42, 0x00}) {
			n, err := master.Read(buf)
			if err != nil {
				break
			}
			b.Write(buf[:n])
		}
		got <- b.Bytes()
	}()
	code, out, errs := runShift(t, cfg, "report", "--print")
	if code != exitOK || !strings.Contains(out, "printed the X report of shift #1") {
		t.Fatalf("--print: %d %q %q", code, out, errs)
	}
	var b []byte
	select {
	case b = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("nothing reached the printer")
	}
	if !bytes.HasPrefix(b, []byte{0x1b, 0x40, 0x1c, 0x26}) {
		t.Fatalf("no ESC @ / FS & at the start: %q", b[:8])
	}
	text, err := simplifiedchinese.GB18030.NewDecoder().Bytes(b[4 : len(b)-7])
	if err != nil || !strings.Contains(string(text), "班次报表（当前）") || !strings.Contains(string(text), "在线核销                     1") {
		t.Fatalf("printed text (%v):\n%s", err, text)
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(text), "\n"), "\n") {
		if w := len([]rune(l)); w > 32 {
			t.Errorf("line wider than the 58 mm paper: %q", l)
		}
	}

	missing := writeFile(t, "missing.toml", fmt.Sprintf("[store]\npath = %q\n[terminal]\nid = \"till-07\"\n[log]\nfile = \"-\"\n[printer]\nport = %q\ntimeout = \"500ms\"\n", journal, filepath.Join(t.TempDir(), "lp0")))
	if code, _, errs := runShift(t, missing, "report", "--print"); code != exitFailure || !strings.Contains(errs, "printer not found") {
		t.Fatalf("missing printer: %d %q", code, errs)
	}
	none := writeFile(t, "none.toml", fmt.Sprintf("[store]\npath = %q\n[terminal]\nid = \"till-07\"\n[log]\nfile = \"-\"\n", journal))
	if code, _, errs := runShift(t, none, "report", "--print"); code != exitFailure || !strings.Contains(errs, "[printer] port") {
		t.Fatalf("no printer: %d %q", code, errs)
	}
	if code, _, _ := runShift(t, none, "report", "--print", "--json"); code != exitUsage {
		t.Fatalf("--print --json: exit %d", code)
	}
}
