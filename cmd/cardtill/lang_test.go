package main

import (
	"strings"
	"testing"
)

// The CLI's shift report follows the locale when neither --lang nor
// [ui] lang is given, LC_MESSAGES included.
func TestShiftReportFollowsLocale(t *testing.T) {
	cfg, _ := shiftConfig(t)
	if code, _, errs := runShift(t, cfg, "open", "--cashier", "Li"); code != exitOK {
		t.Fatalf("open: %d %s", code, errs)
	}
	t.Setenv("LC_ALL", "")
	t.Setenv("LANG", "en_US.UTF-8")
	t.Setenv("LC_MESSAGES", "zh_CN.UTF-8")
	code, out, errs := runShift(t, cfg, "report")
	if code != exitOK || !strings.Contains(out, "班次报表") {
		t.Fatalf("LC_MESSAGES=zh_CN: %d %s\n%s", code, errs, out)
	}
	t.Setenv("LC_MESSAGES", "")
	code, out, _ = runShift(t, cfg, "report")
	if code != exitOK || strings.Contains(out, "班次报表") {
		t.Fatalf("LANG=en_US: %d\n%s", code, out)
	}
}
