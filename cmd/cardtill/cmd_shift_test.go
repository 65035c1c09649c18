package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"cardtill/report"
	"cardtill/store"
)

func shiftConfig(t *testing.T) (cfg, journal string) {
	t.Helper()
	journal = filepath.Join(t.TempDir(), "journal.db")
	cfg = writeFile(t, "config.toml", fmt.Sprintf("[store]\npath = %q\n[terminal]\nid = \"till-07\"\n[log]\nfile = \"-\"\n", journal))
	return cfg, journal
}

func runShift(t *testing.T, cfg string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), append([]string{"--config", cfg, "shift"}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestShiftCLI(t *testing.T) {
	t.Parallel()
	cfg, journal := shiftConfig(t)
	if code, _, errs := runShift(t, cfg, "open"); code != exitUsage || !strings.Contains(errs, "--cashier") {
		t.Fatalf("open without cashier: %d %q", code, errs)
	}
	if code, out, errs := runShift(t, cfg, "open", "--cashier", "王小明"); code != exitOK || !strings.Contains(out, "shift #1 opened") {
		t.Fatalf("open: %d %q %q", code, out, errs)
	}
	if code, _, errs := runShift(t, cfg, "open", "--cashier", "Bob"); code != exitFailure || !strings.Contains(errs, "already open") {
		t.Fatalf("second open: %d %q", code, errs)
	}

	// One consumed, one queued (pending) in the shift.
	db, err := store.Open(journal, store.Options{Terminal: "till-07"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Create(store.Redemption{Code: "111111111111", CardID: "cardA", ShiftID: 1, Cashier: "王小明", State: store.Consumed}, "test", store.Path(store.Consumed)...); err != nil {
		t.Fatal(err)
	}
	q, err := db.Create(store.Redemption{Code: "222222222222", CardID: "cardA", ShiftID: 1, Cashier: "王小明", State: store.Queued}, "test", store.Path(store.Queued)...)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, _ := runShift(t, cfg, "report", "--lang", "zh", "--width", "32")
	if code != exitOK || !strings.Contains(out, "班次报表（当前）") {
		t.Fatalf("X report: %d\n%s", code, out)
	}
	if code, _, errs := runShift(t, cfg, "report", "--z"); code != exitFailure || !strings.Contains(errs, "still open") {
		t.Fatalf("Z of open shift: %d %q", code, errs)
	}
	if code, _, errs := runShift(t, cfg, "close"); code != exitFailure || !strings.Contains(errs, "1 pending") || !strings.Contains(errs, "--force") {
		t.Fatalf("close with pending: %d %q", code, errs)
	}
	if code, out, errs := runShift(t, cfg, "close", "--force"); code != exitOK || !strings.Contains(out, "with 1 pending") {
		t.Fatalf("close --force: %d %q %q", code, out, errs)
	}

	// The pending one settles after close.
	db, err = store.Open(journal, store.Options{Terminal: "till-07"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(q.ID, store.Queued, store.Consuming, store.Change{By: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Transition(q.ID, store.Consuming, store.Consumed, store.Change{By: "test"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	code, out, errs := runShift(t, cfg, "report", "--shift", "1", "--z", "--json")
	if code != exitOK {
		t.Fatalf("Z json: %d %q", code, errs)
	}
	var r report.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Kind != report.KindZ || r.PendingAtClose != 1 || r.Outcomes.ConsumedOnline != 1 || r.SettledAfterClose.OfflineConsumed != 1 {
		t.Fatalf("Z report: %+v", r)
	}
	if code, out, _ := runShift(t, cfg, "report", "--z", "--csv"); code != exitOK || !strings.Contains(out, "settled_after_close,offline_consumed,1") {
		t.Fatalf("csv: %d\n%s", code, out)
	}
	if code, out, _ := runShift(t, cfg, "report", "--z", "--lang", "en"); code != exitOK || !strings.Contains(out, "Closed with 1 pending") {
		t.Fatalf("Z text: %d\n%s", code, out)
	}
	code, out, _ = runShift(t, cfg, "list", "--json")
	var list []map[string]any
	if code != exitOK || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0]["open"] != false || list[0]["cashier"] != "王小明" {
		t.Fatalf("list --json: %d %s", code, out)
	}
	for _, bad := range [][]string{{"report", "--json", "--csv"}, {"report", "--width", "5"}, {"report", "--lang", "fr"}} {
		if code, _, _ := runShift(t, cfg, bad...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, exitUsage)
		}
	}
	if code, _, _ := runShift(t, cfg, "report", "--shift", "9"); code != exitFailure {
		t.Errorf("unknown shift: exit %d, want %d", code, exitFailure)
	}
}
