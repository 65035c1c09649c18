package main

import (
	"encoding/json"
	"strings"
	"testing"

	"cardtill/store"
	"cardtill/wechat/wechattest"
)

// withoutGeneratedAt is a report's JSON with generated_at taken out (the
// one field that differs between two reports of the same shift).
func withoutGeneratedAt(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%v:\n%s", err, s)
	}
	delete(m, "generated_at")
	return m
}

// TestShiftReportBesideRunningTill: while the till runs (and holds the
// journal's lock) `shift list` and `shift report` (text, JSON, CSV) are
// answered through its control socket; the JSON equals the report read
// from the file after the till stopped, conflicts and their resolution
// included.
func TestShiftReportBesideRunningTill(t *testing.T) {
	t.Parallel()
	srv, cfg, dbPath := fakeTill(t)
	srv.AddCard(wechattest.Card{CardID: "pCard", Title: "满100减20优惠券"})
	tl, _, stop := runningTill(t, cfg)
	redeem(t, srv, tl, "1", 5)
	sh, ok, err := tl.DB.CurrentShift("till-2")
	if err != nil || !ok {
		t.Fatalf("no open shift: %v", err)
	}
	q, err := tl.DB.Create(store.Redemption{Code: "999900001111", CardID: "pCard", ShiftID: sh.ID, Cashier: sh.Cashier, Terminal: "till-2", State: store.Queued}, "test", store.Received)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tl.DB.Transition(q.ID, store.Queued, store.Conflict, store.Change{By: "test", Errcode: 40099,
		Update: func(r *store.Redemption) { r.Errcode, r.Reason, r.ReasonText = 40099, "already_used", "already used" }}); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.DB.ResolveConflict(q.ID, "店长李", "顾客补付"); err != nil {
		t.Fatal(err)
	}

	code, running, errs := runCLI(t, "--config", cfg, "shift", "report", "--json")
	if code != exitOK {
		t.Fatalf("report --json beside the till: %d %s", code, errs)
	}
	code, text, errs := runCLI(t, "--config", cfg, "shift", "report", "--lang", "zh", "--width", "32")
	if code != exitOK || !strings.Contains(text, "班次报表（当前）") || !strings.Contains(text, "满100减20优惠券") || !strings.Contains(text, "已处理：店长李") {
		t.Fatalf("report text beside the till: %d %s\n%s", code, errs, text)
	}
	if code, out, errs := runCLI(t, "--config", cfg, "shift", "report", "--csv"); code != exitOK || !strings.Contains(out, "conflict_status,999900001111,resolved") {
		t.Fatalf("report --csv beside the till: %d %s\n%s", code, errs, out)
	}
	code, list, errs := runCLI(t, "--config", cfg, "shift", "list", "--json")
	if code != exitOK || !strings.Contains(list, `"open": true`) {
		t.Fatalf("list --json beside the till: %d %s\n%s", code, errs, list)
	}
	if code, _, errs := runCLI(t, "--config", cfg, "shift", "report", "--z"); code != exitFailure || !strings.Contains(errs, "still open") {
		t.Fatalf("Z of the open shift beside the till: %d %s", code, errs)
	}
	if code, _, _ := runCLI(t, "--config", cfg, "shift", "report", "--shift", "99"); code != exitFailure {
		t.Fatalf("unknown shift beside the till: exit %d, want 1", code)
	}
	stop()

	code, after, errs := runCLI(t, "--config", cfg, "shift", "report", "--json")
	if code != exitOK {
		t.Fatalf("report --json after the till stopped: %d %s", code, errs)
	}
	a, b := withoutGeneratedAt(t, running), withoutGeneratedAt(t, after)
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Fatalf("the report beside the running till differs from the one after it stopped:\n%s\n%s", running, after)
	}
	if a["total"] != float64(6) || !strings.Contains(running, `"resolved": true`) {
		t.Fatalf("report: %s", running)
	}
	if code, list2, _ := runCLI(t, "--config", cfg, "shift", "list", "--json"); code != exitOK || list2 != list {
		t.Fatalf("shift list differs after the till stopped:\n%s\n%s", list, list2)
	}
	_ = dbPath
}
