package store

import (
	"reflect"
	"testing"
	"time"
)

// The small binary entries read through varReader round-trip, and every
// cut of one short of its end is refused: a conflict entry and a
// tombstone end in a check of what is left, a format 3 used-by-code list
// is refused unless the cut falls between two uses (it then reads the
// uses before the cut, never a wrong one).
func TestVarReaderEntriesRefuseCuts(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 10, 4, 5, 123456789, time.UTC)
	e := ConflictEntry{ID: 300, ShiftID: 7, Code: "452998530302", CardID: "pA", CardTitle: "¥20 off", Cashier: "王芳",
		ScannedAt: at, AcceptedAt: at.Add(time.Second), At: at.Add(time.Hour), Errcode: 40099, Reason: "already_used",
		ReasonText: "already used", WeChatStatus: "CONSUMED", AfterClose: true}
	b := encodeEntry(e)
	if got, err := decodeEntry(b); err != nil || !reflect.DeepEqual(utcEntry(got), e) {
		t.Fatalf("entry round trip: %+v, %v", got, err)
	}
	for n := range len(b) {
		if _, err := decodeEntry(b[:n]); err == nil {
			t.Errorf("a conflict entry cut to %d of %d bytes read", n, len(b))
		}
	}
	tb := tombstone{ID: 301, ShiftID: 7, State: Consumed, At: at, CardID: "pA", Terminal: "till-1", Cashier: "ann"}
	b = encodeTombstone(tb)
	if got, err := decodeTombstone(b); err != nil || got.At.UTC() != tb.At || !reflect.DeepEqual(func() tombstone { got.At = tb.At; return got }(), tb) {
		t.Fatalf("tombstone round trip: %+v, %v", got, err)
	}
	for n := range len(b) {
		if _, err := decodeTombstone(b[:n]); err == nil {
			t.Errorf("a tombstone cut to %d of %d bytes read", n, len(b))
		}
	}
	list := []FinishedCode{{Code: "c", ID: 1, State: Consumed, At: at, ShiftID: 7}, {Code: "c", ID: 900, State: Conflict, ShiftID: 8}}
	b = encodeUsed3(list)
	if got, err := decodeUsed3("c", b[1:]); err != nil || len(got) != 2 || got[0].ID != 1 || got[1].ID != 900 || !got[0].At.Equal(at) {
		t.Fatalf("used list round trip: %+v, %v", got, err)
	}
	first := len(encodeUsed3(list[:1])) - 1 // the format byte is not the reader's
	for n := 1; n < len(b); n++ {
		got, err := decodeUsed3("c", b[1:n])
		switch {
		case n-1 == 0 || n-1 == first:
			if err != nil || len(got) != (n-1)/max(first, 1) {
				t.Errorf("a used list cut between uses at %d: %+v, %v", n, got, err)
			}
		case err == nil:
			t.Errorf("a used list cut inside a use at %d of %d bytes read: %+v", n, len(b), got)
		}
	}
}

// utcEntry is e with its times in UTC (the decoder gives local times).
func utcEntry(e ConflictEntry) ConflictEntry {
	e.ScannedAt, e.AcceptedAt, e.At = e.ScannedAt.UTC(), e.AcceptedAt.UTC(), e.At.UTC()
	return e
}
