package csvsafe

import (
	"encoding/csv"
	"strings"
	"testing"
)

func TestField(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":                        "",
		"Wang Fang":               "Wang Fang",
		"452998530302":            "452998530302",
		"2026-12-03T10:04:05Z":    "2026-12-03T10:04:05Z",
		"=HYPERLINK(\"x\",\"y\")": "'=HYPERLINK(\"x\",\"y\")",
		"+1":                      "'+1",
		"-2+3":                    "'-2+3",
		"@SUM(A1)":                "'@SUM(A1)",
		"\t=1":                    "'\t=1",
		"\r=1":                    "'\r=1",
		"店 =1":                    "店 =1",
	} {
		if got := Field(in); got != want {
			t.Errorf("Field(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriterEscapesEveryFieldAndKeepsTheRecord(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	w := NewWriter(&b)
	rec := []string{"note", "=cmd|' /C calc'!A0", "ok"}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	if rec[1] != "=cmd|' /C calc'!A0" {
		t.Errorf("Write changed its argument: %q", rec[1])
	}
	got, err := csv.NewReader(strings.NewReader(b.String())).Read()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"note", "'=cmd|' /C calc'!A0", "ok"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("read back %q, want %q", got, want)
	}
}
