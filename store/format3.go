package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// Format 3 (recordV3) of a redemption's record and of a used-by-code list
// (record.go has formats 1 and 2): binary, tagged fields.
//
// A record is the byte recordV3 then fields, each a uvarint key
// (field<<1 | wire) and a value: wire 0 is a signed varint, wire 1 is a
// uvarint length and that many bytes. A field left out is empty or zero;
// a reader skips a field it does not know (its wire says how long it is).
// States are a byte each: 0 None, 1 + their index in AllStates (the order
// the tombstones already keep, retention.go); a state outside AllStates
// is kept as text. Times are Unix nanoseconds: CreatedAt as it is, every
// other time of the record and of its history as the difference from
// CreatedAt in wrapping 64-bit arithmetic (so it never overflows, and it
// is a few bytes for what happens within seconds of the scan). RawScan is
// left out when it equals Code; a history entry leaves out what the entry
// before implies (From = the previous To, By = the previous By).
//
// Why binary now (format 2 chose tagged JSON to stay readable with jq):
// BenchmarkJournalBytes' breakdown per bucket (docs/ARCHITECTURE.md, "The
// journal's records") put 69% of the file in the records, and half of a
// format 2 record was key names, quotes and decimal times. The tags keep
// what made JSON worth having (fields can be added, a reader ignores what
// it does not know) and it needs only encoding/binary; a record is read
// through Get like any other.
const recordV3 = 0x03

// Field numbers of a format 3 record. They are the file format: never
// renumber, only add.
const (
	f3ID = iota + 1
	f3Code
	f3CardID
	f3EncryptCode
	f3Source
	f3RawScan
	f3Terminal
	f3Cashier
	f3ShiftID
	f3State     // a state code
	f3StateText // a state outside AllStates, as text
	f3Reason
	f3ReasonText
	f3Errcode
	f3WeChatStatus
	f3OpenID
	f3CardTitle
	f3ValidFrom
	f3ValidUntil
	f3CreatedAt
	f3UpdatedAt
	f3OfflineAcceptedAt
	f3FinishedAt
	f3SettledAfterClose
	f3DueAt
	f3Attempts
	f3LastError
	f3History // one field per entry, in order; its bytes are the entry's fields
)

// Field numbers of a format 3 history entry.
const (
	h3At       = iota + 1 // difference from CreatedAt; left out for the zero time
	h3From                // a state code; left out when it is the previous To
	h3FromText            // a From outside AllStates, as text
	h3To
	h3ToText
	h3By // left out when it is the previous By (may be present and empty)
	h3Errcode
	h3WeChatStatus
	h3Reason
	h3Err
)

const (
	wireVarint = 0
	wireBytes  = 1
)

// stateCode is s's byte in format 3: 0 for None, 1 + its index in
// AllStates; ok is false for a state outside AllStates.
func stateCode(s State) (uint64, bool) {
	if s == None {
		return 0, true
	}
	i, ok := stateIndex(s)
	return uint64(i) + 1, ok
}

func stateOfCode(c uint64) (State, bool) {
	if c == 0 {
		return None, true
	}
	if c > uint64(len(AllStates)) {
		return "", false
	}
	return AllStates[c-1], true
}

type enc3 struct{ b []byte }

func (e *enc3) key(field, wire uint64) { e.b = binary.AppendUvarint(e.b, field<<1|wire) }

func (e *enc3) int(field uint64, v int64) {
	e.key(field, wireVarint)
	e.b = binary.AppendVarint(e.b, v)
}

func (e *enc3) intNZ(field uint64, v int64) {
	if v != 0 {
		e.int(field, v)
	}
}

func (e *enc3) bytes(field uint64, s []byte) {
	e.key(field, wireBytes)
	e.b = binary.AppendUvarint(e.b, uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *enc3) str(field uint64, s string) {
	if s != "" {
		e.bytes(field, []byte(s))
	}
}

// state writes s under field, or as text under textField when it is not
// one of AllStates. always writes None too (a history From).
func (e *enc3) state(field, textField uint64, s State, always bool) {
	if c, ok := stateCode(s); !ok {
		e.bytes(textField, []byte(s))
	} else if c != 0 || always {
		e.int(field, int64(c))
	}
}

// since writes t as its difference from base (wrapping); nothing for the zero time.
func (e *enc3) since(field uint64, t time.Time, base int64) {
	if !t.IsZero() {
		e.int(field, int64(uint64(t.UnixNano())-uint64(base)))
	}
}

// encodeRecord3 is r in format 3. A time outside the years 1678 to 2262
// is refused, as format 2 refuses it.
func encodeRecord3(r Redemption) ([]byte, error) {
	if err := inRange(r); err != nil {
		return nil, err
	}
	e := enc3{b: make([]byte, 1, 256)}
	e.b[0] = recordV3
	e.intNZ(f3ID, int64(r.ID))
	e.str(f3Code, r.Code)
	e.str(f3CardID, r.CardID)
	e.str(f3EncryptCode, r.EncryptCode)
	e.str(f3Source, r.Source)
	if r.RawScan != r.Code {
		e.bytes(f3RawScan, []byte(r.RawScan))
	}
	e.str(f3Terminal, r.Terminal)
	e.str(f3Cashier, r.Cashier)
	e.intNZ(f3ShiftID, int64(r.ShiftID))
	e.state(f3State, f3StateText, r.State, false)
	e.str(f3Reason, r.Reason)
	e.str(f3ReasonText, r.ReasonText)
	e.intNZ(f3Errcode, int64(r.Errcode))
	e.str(f3WeChatStatus, r.WeChatStatus)
	e.str(f3OpenID, r.OpenID)
	e.str(f3CardTitle, r.CardTitle)
	e.since(f3ValidFrom, r.ValidFrom, 0)
	e.since(f3ValidUntil, r.ValidUntil, 0)
	e.since(f3CreatedAt, r.CreatedAt, 0)
	var base int64
	if !r.CreatedAt.IsZero() {
		base = r.CreatedAt.UnixNano()
	}
	e.since(f3UpdatedAt, r.UpdatedAt, base)
	e.since(f3OfflineAcceptedAt, r.OfflineAcceptedAt, base)
	e.since(f3FinishedAt, r.FinishedAt, base)
	if r.SettledAfterClose {
		e.int(f3SettledAfterClose, 1)
	}
	e.since(f3DueAt, r.DueAt, base)
	e.intNZ(f3Attempts, int64(r.Attempts))
	e.str(f3LastError, r.LastError)
	var prevTo State
	var prevBy string
	h := enc3{}
	for _, t := range r.History {
		h.b = h.b[:0]
		h.since(h3At, t.At, base)
		if t.From != prevTo {
			h.state(h3From, h3FromText, t.From, true)
		}
		h.state(h3To, h3ToText, t.To, true)
		if t.By != prevBy {
			h.bytes(h3By, []byte(t.By))
		}
		h.intNZ(h3Errcode, int64(t.Errcode))
		h.str(h3WeChatStatus, t.WeChatStatus)
		h.str(h3Reason, t.Reason)
		h.str(h3Err, t.Err)
		e.bytes(f3History, h.b)
		prevTo, prevBy = t.To, t.By
	}
	return e.b, nil
}

var errFormat3 = errors.New("damaged format 3 entry")

// dec3 walks the fields of a format 3 entry.
type dec3 struct {
	b   []byte
	err error
}

// next reads the next field: its number and, by its wire, its varint or its bytes.
func (d *dec3) next() (field uint64, v int64, raw []byte, ok bool) {
	if d.err != nil || len(d.b) == 0 {
		return 0, 0, nil, false
	}
	k, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errFormat3
		return 0, 0, nil, false
	}
	d.b = d.b[n:]
	switch k & 1 {
	case wireVarint:
		v, n = binary.Varint(d.b)
		if n <= 0 {
			d.err = errFormat3
			return 0, 0, nil, false
		}
		d.b = d.b[n:]
	case wireBytes:
		l, n := binary.Uvarint(d.b)
		if n <= 0 || l > uint64(len(d.b)-n) {
			d.err = errFormat3
			return 0, 0, nil, false
		}
		raw = d.b[n : n+int(l)]
		d.b = d.b[n+int(l):]
	}
	return k >> 1, v, raw, true
}

func (d *dec3) state(v int64) State {
	s, ok := stateOfCode(uint64(v))
	if !ok || v < 0 {
		d.err = fmt.Errorf("%w: state code %d", errFormat3, v)
	}
	return s
}

// decodeRecord3 reads a format 3 record (raw without its format byte).
func decodeRecord3(raw []byte) (Redemption, error) {
	var r Redemption
	var rawSet bool
	var updated, offline, finished, due []int64 // a time's difference from CreatedAt, when present
	type entry struct {
		t                     Transition
		at                    int64
		atSet, fromSet, bySet bool
	}
	n := 0 // history entries: one pass over the fields sizes the slices
	for c := (dec3{b: raw}); ; {
		f, _, _, ok := c.next()
		if !ok {
			break
		}
		if f == f3History {
			n++
		}
	}
	entries := make([]entry, 0, n)
	d := dec3{b: raw}
	str := func(b []byte) string { return string(b) }
	for {
		f, v, b, ok := d.next()
		if !ok {
			break
		}
		switch f {
		case f3ID:
			r.ID = uint64(v)
		case f3Code:
			r.Code = str(b)
		case f3CardID:
			r.CardID = str(b)
		case f3EncryptCode:
			r.EncryptCode = str(b)
		case f3Source:
			r.Source = str(b)
		case f3RawScan:
			r.RawScan, rawSet = str(b), true
		case f3Terminal:
			r.Terminal = str(b)
		case f3Cashier:
			r.Cashier = str(b)
		case f3ShiftID:
			r.ShiftID = uint64(v)
		case f3State:
			r.State = d.state(v)
		case f3StateText:
			r.State = State(b)
		case f3Reason:
			r.Reason = str(b)
		case f3ReasonText:
			r.ReasonText = str(b)
		case f3Errcode:
			r.Errcode = int(v)
		case f3WeChatStatus:
			r.WeChatStatus = str(b)
		case f3OpenID:
			r.OpenID = str(b)
		case f3CardTitle:
			r.CardTitle = str(b)
		case f3ValidFrom:
			r.ValidFrom = time.Unix(0, v)
		case f3ValidUntil:
			r.ValidUntil = time.Unix(0, v)
		case f3CreatedAt:
			r.CreatedAt = time.Unix(0, v)
		case f3UpdatedAt:
			updated = []int64{v}
		case f3OfflineAcceptedAt:
			offline = []int64{v}
		case f3FinishedAt:
			finished = []int64{v}
		case f3SettledAfterClose:
			r.SettledAfterClose = v != 0
		case f3DueAt:
			due = []int64{v}
		case f3Attempts:
			r.Attempts = int(v)
		case f3LastError:
			r.LastError = str(b)
		case f3History:
			var en entry
			hd := dec3{b: b}
			for {
				hf, hv, hb, ok := hd.next()
				if !ok {
					break
				}
				switch hf {
				case h3At:
					en.at, en.atSet = hv, true
				case h3From:
					en.t.From, en.fromSet = hd.state(hv), true
				case h3FromText:
					en.t.From, en.fromSet = State(hb), true
				case h3To:
					en.t.To = hd.state(hv)
				case h3ToText:
					en.t.To = State(hb)
				case h3By:
					en.t.By, en.bySet = str(hb), true
				case h3Errcode:
					en.t.Errcode = int(hv)
				case h3WeChatStatus:
					en.t.WeChatStatus = str(hb)
				case h3Reason:
					en.t.Reason = str(hb)
				case h3Err:
					en.t.Err = str(hb)
				}
			}
			if hd.err != nil {
				d.err = hd.err
			}
			entries = append(entries, en)
		}
	}
	if d.err != nil {
		return Redemption{}, d.err
	}
	if !rawSet {
		r.RawScan = r.Code
	}
	var base int64
	if !r.CreatedAt.IsZero() {
		base = r.CreatedAt.UnixNano()
	}
	at := func(d []int64) time.Time {
		if d == nil {
			return time.Time{}
		}
		return time.Unix(0, int64(uint64(base)+uint64(d[0])))
	}
	r.UpdatedAt, r.OfflineAcceptedAt, r.FinishedAt, r.DueAt = at(updated), at(offline), at(finished), at(due)
	if len(entries) > 0 {
		// room for the entries of a move, which the next commit appends
		r.History = make([]Transition, len(entries), len(entries)+2)
		var prevTo State
		var prevBy string
		for i, en := range entries {
			t := en.t
			if !en.fromSet {
				t.From = prevTo
			}
			if !en.bySet {
				t.By = prevBy
			}
			if en.atSet {
				t.At = time.Unix(0, int64(uint64(base)+uint64(en.at)))
			}
			r.History[i] = t
			prevTo, prevBy = t.To, t.By
		}
	}
	return r, nil
}

// A used-by-code list in format 3: recordV3, then per use (in ID order)
// uvarint id, uvarint state code<<1 | 1 when it has a time, the time of
// use as varint Unix nanoseconds (when it has one), uvarint shift. The
// code is the key.
func encodeUsed3(list []FinishedCode) []byte {
	b := make([]byte, 1, 1+16*len(list))
	b[0] = recordV3
	for _, f := range list {
		c, _ := stateCode(f.State) // usedHere states only (index.go)
		b = binary.AppendUvarint(b, f.ID)
		if f.At.IsZero() {
			b = binary.AppendUvarint(b, c<<1)
		} else {
			b = binary.AppendUvarint(b, c<<1|1)
			b = binary.AppendVarint(b, f.At.UnixNano())
		}
		b = binary.AppendUvarint(b, f.ShiftID)
	}
	return b
}

func decodeUsed3(code string, b []byte) ([]FinishedCode, error) {
	var list []FinishedCode
	r := varReader{b: b}
	for len(r.b) > 0 && !r.bad {
		f := FinishedCode{Code: code, ID: r.uv()}
		c := r.uv()
		s, ok := stateOfCode(c >> 1)
		if !ok || s == None {
			return nil, fmt.Errorf("%w: state code %d", errFormat3, c>>1)
		}
		f.State = s
		if c&1 == 1 {
			if v := r.sv(); !r.bad {
				f.At = time.Unix(0, v)
			}
		}
		f.ShiftID = r.uv()
		list = append(list, f)
	}
	if r.bad {
		return nil, errFormat3
	}
	return list, nil
}
