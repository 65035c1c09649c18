package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// fullRedemption sets every field of a Redemption (found by reflection,
// so a field added later is covered) to a value that is not zero.
func fullRedemption(t *testing.T) Redemption {
	t.Helper()
	var r Redemption
	v := reflect.ValueOf(&r).Elem()
	at := time.Date(2026, 11, 22, 10, 4, 5, 123456789, time.Local)
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(v.Type().Field(i).Name + "-x")
		case reflect.Uint64:
			f.SetUint(uint64(1000 + i))
		case reflect.Int:
			f.SetInt(int64(40000 + i))
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Struct:
			if f.Type() != reflect.TypeOf(time.Time{}) {
				t.Fatalf("field %s: a struct the test does not know", v.Type().Field(i).Name)
			}
			f.Set(reflect.ValueOf(at.Add(time.Duration(i) * time.Second)))
		case reflect.Slice:
			// History, below
		default:
			t.Fatalf("field %s: a kind the test does not know (%s)", v.Type().Field(i).Name, f.Kind())
		}
	}
	r.State = Consumed
	r.History = []Transition{
		{At: r.CreatedAt, From: None, To: Received, By: "engine"},
		{At: r.CreatedAt.Add(40 * time.Millisecond), From: Received, To: Checked, By: "engine"},
		{At: r.CreatedAt.Add(90 * time.Millisecond), From: Checked, To: Consuming, By: "drain", Errcode: 45009, WeChatStatus: "NORMAL", Reason: "busy", Err: "over quota"},
		{At: r.CreatedAt.Add(time.Second), From: Consuming, To: Consuming, By: "drain"},
		{At: time.Time{}, From: Consuming, To: Consumed, By: ""},                         // a zero time, an empty By after a set one
		{At: r.CreatedAt.Add(-time.Hour), From: None, To: Consumed, By: "engine"},        // From None mid-history, a time before CreatedAt
		{At: r.CreatedAt.Add(2 * time.Second), From: Queued, To: Consumed, By: "engine"}, // a From that is not the previous To
	}
	return r
}

// same reports whether a and b hold the same redemption: times equal as
// instants (a record keeps no time zone).
func same(a, b Redemption) bool {
	norm := func(r Redemption) Redemption {
		v := reflect.ValueOf(&r).Elem()
		for i := range v.NumField() {
			if t, ok := v.Field(i).Interface().(time.Time); ok && !t.IsZero() {
				v.Field(i).Set(reflect.ValueOf(t.UTC()))
			}
		}
		h := make([]Transition, len(r.History))
		for i, x := range r.History {
			if !x.At.IsZero() {
				x.At = x.At.UTC()
			}
			h[i] = x
		}
		r.History = h
		return r
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

// Every field of a redemption survives format 3, format 2 and format 1.
func TestRecordRoundTrip(t *testing.T) {
	r := fullRedemption(t)
	raw, err := encodeRecord(r)
	if err != nil || raw[0] != recordV3 {
		t.Fatalf("encode: %v, first byte %#x", err, raw[0])
	}
	got, err := decodeRecord(raw)
	if err != nil || !same(got, r) {
		t.Fatalf("format 3 round trip: %v\n got %+v\nwant %+v", err, got, r)
	}
	v2, err := encodeRecord2(r)
	if err != nil || v2[0] != recordV2 {
		t.Fatalf("encode format 2: %v", err)
	}
	if got, err := decodeRecord(v2); err != nil || !same(got, r) {
		t.Fatalf("format 2 round trip: %v\n got %+v\nwant %+v", err, got, r)
	}
	// a state outside AllStates and the Unix epoch (not the zero time) survive format 3
	odd := r
	odd.State, odd.ValidFrom = State("legacy_state"), time.Unix(0, 0)
	odd.History = append(append([]Transition(nil), r.History...), Transition{At: time.Unix(0, 0), From: State("x"), To: State("legacy_state")})
	if got, err := decodeRecord(mustEncode(t, odd)); err != nil || !same(got, odd) {
		t.Fatalf("format 3, odd states: %v\n got %+v\nwant %+v", err, got, odd)
	}
	v1, _ := json.Marshal(r)
	if got, err := decodeRecord(v1); err != nil || !same(got, r) {
		t.Fatalf("format 1: %v\n got %+v\nwant %+v", err, got, r)
	}
	// RawScan: the same as Code (left out), empty, or its own
	for _, raw := range []string{r.Code, "", "https://example.com/?code=" + r.Code} {
		r.RawScan = raw
		enc, _ := encodeRecord(r)
		if got, err := decodeRecord(enc); err != nil || got.RawScan != raw {
			t.Errorf("RawScan %q came back %q (%v)", raw, got.RawScan, err)
		}
	}
	// the empty redemption stays empty
	if got, err := decodeRecord(mustEncode(t, Redemption{})); err != nil || !reflect.DeepEqual(got, Redemption{}) {
		t.Errorf("empty: %+v %v", got, err)
	}
	if _, err := decodeRecord([]byte{0x7f, '{', '}'}); err == nil || !strings.Contains(err.Error(), "newer one") {
		t.Errorf("a format from a newer cardtill: %v", err)
	}
	if _, err := decodeRecord(nil); err == nil {
		t.Error("an empty record read without an error")
	}
}

func mustEncode(t *testing.T, r Redemption) []byte {
	t.Helper()
	raw, err := encodeRecord(r)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// A journal written before records were versioned (format 1 records and
// used-by-code lists), or in format 2, is read as it is; a record's next
// move rewrites it in format 3, and db check holds on the mix.
func TestFormat1RecordsReadAndRewritten(t *testing.T) {
	for _, format := range []byte{'{', recordV2} {
		t.Run(fmt.Sprintf("format %#x", format), func(t *testing.T) { olderFormatReadAndRewritten(t, format) })
	}
}

func olderFormatReadAndRewritten(t *testing.T, format byte) {
	db := openTest(t, Options{NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	a, err := db.Create(Redemption{Code: "100000000001", ShiftID: sh.ID, State: Queued}, "t", Path(Queued)...)
	if err != nil {
		t.Fatal(err)
	}
	b, err := db.Create(Redemption{Code: "100000000002", ShiftID: sh.ID, State: Consumed}, "t", Path(Consumed)...)
	if err != nil {
		t.Fatal(err)
	}
	// write both back as format 1, as a cardtill before this one did
	if err := db.b.Update(func(tx *bolt.Tx) error {
		for _, r := range []Redemption{a, b} {
			uses := []FinishedCode{{Code: r.Code, ID: r.ID, State: r.State, At: usedAt(r), ShiftID: r.ShiftID}}
			if format == recordV2 {
				raw, _ := encodeRecord2(r)
				if err := holding(tx, r.ID).Put(u64(r.ID), raw); err != nil {
					return err
				}
				if err := putUsed2(tx.Bucket(bUsed), []byte(r.Code), uses); err != nil {
					return err
				}
				continue
			}
			raw, _ := json.Marshal(r)
			if err := holding(tx, r.ID).Put(u64(r.ID), raw); err != nil {
				return err
			}
			list, _ := json.Marshal(uses)
			if err := tx.Bucket(bUsed).Put([]byte(r.Code), list); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	db.mustCheck()
	first := func(bucket []byte, k []byte) byte {
		var c byte
		_ = db.b.View(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucket)
			if bucket == nil { // a record, wherever it is
				b = holding(tx, binary.BigEndian.Uint64(k))
			}
			c = b.Get(k)[0]
			return nil
		})
		return c
	}
	if got, err := db.Get(a.ID); err != nil || got.Code != a.Code || got.State != Queued || len(got.History) != len(a.History) {
		t.Fatalf("format 1 read: %+v %v", got, err)
	}
	if fc, ok, err := db.FinishedByCode(b.Code); err != nil || !ok || fc.ID != b.ID {
		t.Fatalf("format 1 used list: %+v %v %v", fc, ok, err)
	}
	if _, err := db.Transition(a.ID, Queued, Consuming, Change{By: "drain"}); err != nil {
		t.Fatal(err)
	}
	if c := first(nil, u64(a.ID)); c != recordV3 {
		t.Fatalf("a moved record's first byte %#x, want format 3", c)
	}
	if c := first(nil, u64(b.ID)); c != format {
		t.Fatalf("an untouched record's first byte %#x, want %#x still", c, format)
	}
	if _, err := db.Transition(a.ID, Consuming, Consumed, Change{By: "drain"}); err != nil {
		t.Fatal(err)
	}
	if c := first(bUsed, []byte(a.Code)); c != recordV3 {
		t.Fatalf("a changed used list's first byte %#x, want format 3", c)
	}
	if c, want := first(bUsed, []byte(b.Code)), map[byte]byte{'{': '[', recordV2: recordV2}[format]; c != want {
		t.Fatalf("an untouched used list's first byte %#x, want %#x still", c, want)
	}
	db.mustCheck()
}

// A record in a format this cardtill does not read is reported by Check
// and refused by a read, naming it; nothing is changed.
func TestRecordOfANewerFormat(t *testing.T) {
	db := openTest(t, Options{NoSync: true})
	sh, _ := db.OpenShift("T1", "alice")
	r, _ := db.Create(Redemption{Code: "100000000001", ShiftID: sh.ID, State: Consumed}, "t", Path(Consumed)...)
	var saved []byte
	_ = db.b.Update(func(tx *bolt.Tx) error {
		saved = append([]byte(nil), holding(tx, r.ID).Get(u64(r.ID))...)
		return holding(tx, r.ID).Put(u64(r.ID), []byte{0x09, '{', '}'})
	})
	if _, err := db.Get(r.ID); err == nil || !strings.Contains(err.Error(), "newer one") {
		t.Fatalf("read: %v", err)
	}
	if err := db.Check(); err == nil || !strings.Contains(err.Error(), "newer one") {
		t.Fatalf("check: %v", err)
	}
	_ = db.b.Update(func(tx *bolt.Tx) error { return holding(tx, r.ID).Put(u64(r.ID), saved) })
	db.mustCheck()
}

// FuzzRecord: whatever a record holds, format 3 and format 2 give it
// back.
func FuzzRecord(f *testing.F) {
	f.Add("452998530302", "pA", "", "engine", int64(0), int64(1), uint64(7), 40099)
	f.Add("", "", "enc", "", int64(-5), int64(0), uint64(0), 0)
	f.Add("x", "\xff", "", "", int64(-1<<63+1), int64(1<<63-1), uint64(1<<63), -1)
	f.Fuzz(func(t *testing.T, code, card, raw, by string, created, moved int64, id uint64, errcode int) {
		text := true
		for _, s := range []string{code, card, raw, by} {
			text = text && utf8.ValidString(s) // JSON (formats 1, 2) keeps text, not bytes; format 3 keeps bytes
		}
		var at time.Time
		if created != 0 {
			at = time.Unix(0, created)
		}
		r := Redemption{ID: id, Code: code, CardID: card, RawScan: raw, ShiftID: id / 3, State: Consuming, Errcode: errcode, CreatedAt: at}
		r.History = []Transition{{At: at, From: None, To: Received, By: by}, {At: at.Add(time.Duration(moved)), From: Received, To: Consuming, By: by + "x"}}
		encs := []func(Redemption) ([]byte, error){encodeRecord}
		if text {
			encs = append(encs, encodeRecord2)
		}
		for _, encode := range encs {
			enc, err := encode(r)
			if inRange(r) != nil {
				if err == nil {
					t.Fatalf("a time the format cannot hold was written: %+v", r)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeRecord(enc)
			if err != nil || !same(got, r) {
				t.Fatalf("format %#x: %v\n got %+v\nwant %+v", enc[0], err, got, r)
			}
		}
		// whatever bytes follow the format byte, reading them fails or succeeds, never panics
		_, _ = decodeRecord(append([]byte{recordV3}, code...))
		_, _ = decodeUsed3(code, []byte(card))
	})
}

// A format 3 used-by-code list keeps every use; damage is an error.
func TestUsedListFormat3(t *testing.T) {
	at := time.Date(2026, 11, 22, 10, 4, 5, 123456789, time.Local)
	list := []FinishedCode{
		{Code: "452998530302", ID: 7, State: Consumed, At: at, ShiftID: 3},
		{Code: "452998530302", ID: 1 << 40, State: Conflict, At: time.Unix(0, 0), ShiftID: 0},
		{Code: "452998530302", ID: 9, State: Queued},
	}
	got, err := decodeUsed3("452998530302", encodeUsed3(list)[1:])
	if err != nil || len(got) != len(list) {
		t.Fatalf("%+v %v", got, err)
	}
	for i := range list {
		if got[i].ID != list[i].ID || got[i].State != list[i].State || !got[i].At.Equal(list[i].At) || got[i].At.IsZero() != list[i].At.IsZero() || got[i].ShiftID != list[i].ShiftID || got[i].Code != list[i].Code {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], list[i])
		}
	}
	enc := encodeUsed3(list)
	for _, bad := range [][]byte{enc[1 : len(enc)-1], {0x01, 0x7f << 1}, {0x80}} {
		if _, err := decodeUsed3("c", bad); err == nil {
			t.Errorf("damaged list %x read without an error", bad)
		}
	}
}

// The state codes of format 3 records and of tombstones are the file
// format: a state added to AllStates goes at its end, and no code of a
// state already written changes.
func TestStateCodesAreTheFileFormat(t *testing.T) {
	t.Parallel()
	want := map[State]uint64{Received: 1, Checked: 2, Consuming: 3, Consumed: 4, Rejected: 5, InDoubt: 6, Queued: 7, Conflict: 8}
	for s, c := range want {
		if got, ok := stateCode(s); !ok || got != c {
			t.Errorf("format 3 code of %s = %d (%v), the file says %d", s, got, ok, c)
		}
		if back, ok := stateOfCode(c); !ok || back != s {
			t.Errorf("format 3 code %d reads as %s (%v), want %s", c, back, ok, s)
		}
		if i, ok := stateIndex(s); !ok || uint64(i)+1 != c {
			t.Errorf("tombstone index of %s = %d (%v), the file says %d", s, i, ok, c-1)
		}
	}
	if len(AllStates) < len(want) {
		t.Errorf("AllStates has %d states, the file format knows %d", len(AllStates), len(want))
	}
}

// A format 3 record cut short is refused by a read (getRed), not read as
// a redemption with fields missing: every cut but one that drops only
// retries at the end of the history (a move from a state to itself, which
// leaves the record's state and history consistent).
func TestTruncatedRecordRefused(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{NoSync: true})
	r, err := db.Create(Redemption{Code: "452998530302", CardID: "pA", Cashier: "ann", Reason: "ok", DueAt: time.Now(), State: Received}, "engine")
	if err != nil {
		t.Fatal(err)
	}
	if r, err = db.Transition(r.ID, Received, Consuming, Change{By: "engine", Via: []State{Checked}}); err != nil {
		t.Fatal(err)
	}
	if r, err = db.Transition(r.ID, Consuming, Consuming, Change{By: "drain", Err: "timeout", Update: func(r *Redemption) { r.Attempts++ }}); err != nil {
		t.Fatal(err)
	}
	var whole []byte
	_ = db.b.View(func(tx *bolt.Tx) error { whole = bytes.Clone(holding(tx, r.ID).Get(u64(r.ID))); return nil })
	if whole[0] != recordV3 {
		t.Fatalf("written in format %#x", whole[0])
	}
	// the cut that drops the last history entry, a retry, is the one a
	// read cannot tell
	noRetry := r
	noRetry.History = r.History[:len(r.History)-1]
	cutRetry := len(mustEncode(t, noRetry)) // the history is the record's last field
	put := func(raw []byte) {
		if err := db.b.Update(func(tx *bolt.Tx) error { return holding(tx, r.ID).Put(u64(r.ID), raw) }); err != nil {
			t.Fatal(err)
		}
	}
	read := 0
	for n := 1; n < len(whole); n++ {
		put(whole[:n])
		got, err := db.Get(r.ID)
		if err == nil {
			read++
			if n != cutRetry || got.State != Consuming || len(got.History) != len(r.History)-1 {
				t.Errorf("cut to %d of %d bytes read without an error: %+v", n, len(whole), got)
			}
		}
	}
	if read > 1 {
		t.Errorf("%d cuts read without an error, want at most 1", read)
	}
	put(whole)
	if got, err := db.Get(r.ID); err != nil || !same(got, r) {
		t.Fatalf("whole record: %v\n got %+v\nwant %+v", err, got, r)
	}
}
