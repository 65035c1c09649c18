package store

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A redemption's record in the journal (bRed), versioned by its first
// byte:
//
//   - '{': format 1, the JSON of Redemption with Go's field names as keys,
//     RFC 3339 times and every field present (what every cardtill wrote
//     before records were versioned). Still read; never written.
//   - recordV2 (0x02): then the JSON of recordWire: short tagged keys,
//     times as integer Unix nanoseconds, and a field left out when it is
//     empty or zero (schema 6). Still read; no longer written.
//   - recordV3 (0x03): binary tagged fields (format3.go; schema 7), what
//     this build writes. A record is rewritten in it by its next move, so
//     a journal converts as it is used, one record per commit, and a
//     crash leaves each record whole in one format or another.
//
// Why format 2 was tagged JSON rather than a binary encoding: it kept the journal
// readable with any bbolt viewer and jq when a till must be diagnosed, its
// fields can be added (an older build ignores a key it does not know) and
// it needs nothing beyond the standard library, while the names, the
// RFC 3339 strings and the empty fields it drops are most of the bytes
// (docs/ARCHITECTURE.md, "The journal's records"). Format 3 then measured
// what was left (format3.go).
const recordV2 = 0x02

// recordWire is format 2's JSON. Keys are short and stable: they are the
// file format. Times are Unix nanoseconds, 0 (left out) for the zero time.
type recordWire struct {
	ID                uint64     `json:"i,omitempty"`
	Code              string     `json:"c,omitempty"`
	CardID            string     `json:"k,omitempty"`
	EncryptCode       string     `json:"e,omitempty"`
	Source            string     `json:"src,omitempty"`
	RawScan           string     `json:"raw,omitempty"` // left out when it equals Code
	Terminal          string     `json:"t,omitempty"`
	Cashier           string     `json:"ca,omitempty"`
	ShiftID           uint64     `json:"sh,omitempty"`
	State             State      `json:"s,omitempty"`
	Reason            string     `json:"r,omitempty"`
	ReasonText        string     `json:"rt,omitempty"`
	Errcode           int        `json:"ec,omitempty"`
	WeChatStatus      string     `json:"ws,omitempty"`
	OpenID            string     `json:"o,omitempty"`
	CardTitle         string     `json:"ti,omitempty"`
	ValidFrom         int64      `json:"vf,omitempty"`
	ValidUntil        int64      `json:"vu,omitempty"`
	CreatedAt         int64      `json:"at,omitempty"`
	UpdatedAt         int64      `json:"up,omitempty"`
	OfflineAcceptedAt int64      `json:"oa,omitempty"`
	FinishedAt        int64      `json:"fi,omitempty"`
	SettledAfterClose bool       `json:"sac,omitempty"`
	DueAt             int64      `json:"du,omitempty"`
	Attempts          int        `json:"n,omitempty"`
	LastError         string     `json:"le,omitempty"`
	History           []moveWire `json:"h,omitempty"`
	// RawIsEmpty: RawScan was empty although Code is not (RawScan left out
	// means "the same as Code").
	RawIsEmpty bool `json:"nr,omitempty"`
}

// moveWire is a history entry in format 2. What the entry before it
// implies is left out: From when it is the previous entry's To (None for
// the first), By when it is the previous entry's, and At is nanoseconds
// after the record's CreatedAt.
type moveWire struct {
	At           int64  `json:"a,omitempty"`
	From         State  `json:"f,omitempty"` // fromNone when From is None against the rule
	To           State  `json:"t,omitempty"`
	By           string `json:"b,omitempty"`
	NoBy         bool   `json:"nb,omitempty"` // By is empty where the entry before has one
	Errcode      int    `json:"ec,omitempty"`
	WeChatStatus string `json:"ws,omitempty"`
	Reason       string `json:"r,omitempty"`
	Err          string `json:"er,omitempty"`
}

// A history entry's sentinels in format 2: At the same as CreatedAt (an
// offset of 0 would read as the zero time), and From None where the entry
// before says otherwise ("-" is no State).
const (
	atCreated = int64(-1 << 63)
	fromNone  = State("-")
)

// minTime and maxTime bound the times format 2 holds (Unix nanoseconds in
// an int64: the years 1678 to 2262).
var (
	minTime = time.Unix(0, -1<<63+1)
	maxTime = time.Unix(0, 1<<63-1)
)

// inRange reports whether every time of r fits format 2.
func inRange(r Redemption) error {
	ok := func(t time.Time) bool { return t.IsZero() || (!t.Before(minTime) && !t.After(maxTime)) }
	for _, t := range []time.Time{r.ValidFrom, r.ValidUntil, r.CreatedAt, r.UpdatedAt, r.OfflineAcceptedAt, r.FinishedAt, r.DueAt} {
		if !ok(t) {
			return fmt.Errorf("%w: redemption %d has a time (%s) outside the years 1678 to 2262", ErrInvalid, r.ID, t)
		}
	}
	for _, h := range r.History {
		if !ok(h.At) || (!h.At.IsZero() && !r.CreatedAt.IsZero() && subOverflows(h.At.UnixNano(), r.CreatedAt.UnixNano())) {
			return fmt.Errorf("%w: redemption %d has a move at %s, outside the years 1678 to 2262", ErrInvalid, r.ID, h.At)
		}
	}
	return nil
}

// subOverflows reports whether a-b does not fit an int64 (a move's offset
// from CreatedAt, for times centuries apart).
func subOverflows(a, b int64) bool {
	d := a - b
	return (b > 0 && d > a) || (b < 0 && d < a)
}

// encodeRecord is r in the format this build writes (format 3,
// format3.go).
func encodeRecord(r Redemption) ([]byte, error) { return encodeRecord3(r) }

// encodeRecord2 is r in format 2 (no longer written; kept for the tests of
// journals that hold it). A time outside the years 1678 to 2262 (no clock
// of a till reads so) is refused, never written wrong.
func encodeRecord2(r Redemption) ([]byte, error) {
	if err := inRange(r); err != nil {
		return nil, err
	}
	w := recordWire{
		ID: r.ID, Code: r.Code, CardID: r.CardID, EncryptCode: r.EncryptCode, Source: r.Source,
		Terminal: r.Terminal, Cashier: r.Cashier, ShiftID: r.ShiftID, State: r.State,
		Reason: r.Reason, ReasonText: r.ReasonText, Errcode: r.Errcode, WeChatStatus: r.WeChatStatus, OpenID: r.OpenID,
		CardTitle: r.CardTitle, ValidFrom: unixNano(r.ValidFrom), ValidUntil: unixNano(r.ValidUntil),
		CreatedAt: unixNano(r.CreatedAt), UpdatedAt: unixNano(r.UpdatedAt), OfflineAcceptedAt: unixNano(r.OfflineAcceptedAt),
		FinishedAt: unixNano(r.FinishedAt), SettledAfterClose: r.SettledAfterClose, DueAt: unixNano(r.DueAt),
		Attempts: r.Attempts, LastError: r.LastError,
	}
	switch {
	case r.RawScan == r.Code:
	case r.RawScan == "":
		w.RawIsEmpty = true
	default:
		w.RawScan = r.RawScan
	}
	if len(r.History) > 0 {
		w.History = make([]moveWire, len(r.History))
		var prevTo State
		var prevBy string
		for i, h := range r.History {
			m := moveWire{To: h.To, Errcode: h.Errcode, WeChatStatus: h.WeChatStatus, Reason: h.Reason, Err: h.Err}
			if !h.At.IsZero() {
				m.At = h.At.UnixNano() - unixNano(r.CreatedAt)
				if m.At == 0 {
					m.At = atCreated
				}
			}
			if h.From != prevTo {
				m.From = h.From
				if h.From == None {
					m.From = fromNone
				}
			}
			if h.By != prevBy {
				m.By, m.NoBy = h.By, h.By == ""
			}
			w.History[i] = m
			prevTo, prevBy = h.To, h.By
		}
	}
	raw, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	return append([]byte{recordV2}, raw...), nil
}

// decodeRecord reads a record in any format.
func decodeRecord(raw []byte) (Redemption, error) {
	var r Redemption
	if len(raw) == 0 {
		return r, fmt.Errorf("empty record")
	}
	switch raw[0] {
	case '{': // format 1
		err := json.Unmarshal(raw, &r)
		return r, err
	case recordV3:
		return decodeRecord3(raw[1:])
	case recordV2:
	default:
		return r, fmt.Errorf("record format %#x is unknown to this build (written by a newer one?)", raw[0])
	}
	var w recordWire
	if err := json.Unmarshal(raw[1:], &w); err != nil {
		return r, err
	}
	r = Redemption{
		ID: w.ID, Code: w.Code, CardID: w.CardID, EncryptCode: w.EncryptCode, Source: w.Source,
		RawScan: w.RawScan, Terminal: w.Terminal, Cashier: w.Cashier, ShiftID: w.ShiftID, State: w.State,
		Reason: w.Reason, ReasonText: w.ReasonText, Errcode: w.Errcode, WeChatStatus: w.WeChatStatus, OpenID: w.OpenID,
		CardTitle: w.CardTitle, ValidFrom: fromUnixNano(w.ValidFrom), ValidUntil: fromUnixNano(w.ValidUntil),
		CreatedAt: fromUnixNano(w.CreatedAt), UpdatedAt: fromUnixNano(w.UpdatedAt), OfflineAcceptedAt: fromUnixNano(w.OfflineAcceptedAt),
		FinishedAt: fromUnixNano(w.FinishedAt), SettledAfterClose: w.SettledAfterClose, DueAt: fromUnixNano(w.DueAt),
		Attempts: w.Attempts, LastError: w.LastError,
	}
	if w.RawScan == "" && !w.RawIsEmpty {
		r.RawScan = r.Code
	}
	if len(w.History) > 0 {
		r.History = make([]Transition, len(w.History))
		var prevTo State
		var prevBy string
		for i, h := range w.History {
			t := Transition{From: prevTo, To: h.To, By: prevBy, Errcode: h.Errcode, WeChatStatus: h.WeChatStatus, Reason: h.Reason, Err: h.Err}
			switch h.At {
			case 0: // the zero time
			case atCreated:
				t.At = r.CreatedAt
			default:
				t.At = time.Unix(0, w.CreatedAt+h.At)
			}
			switch h.From {
			case "":
			case fromNone:
				t.From = None
			default:
				t.From = h.From
			}
			switch {
			case h.NoBy:
				t.By = ""
			case h.By != "":
				t.By = h.By
			}
			r.History[i] = t
			prevTo, prevBy = t.To, t.By
		}
	}
	return r, nil
}

// appendFill is how full bbolt fills the pages of a bucket whose keys only
// grow (redemption ids; shift, then id): bbolt's default of half suits
// random inserts and leaves such a bucket's pages half empty for good.
const appendFill = 0.9

// The used-by-code index (bUsed) holds, under a code, the list of this
// till's redemptions that used it, versioned as records are: a list that
// begins with '[' is format 1 (the JSON of []FinishedCode, the code
// repeated in each entry and times as RFC 3339 strings); recordV2 then
// the JSON of []usedWire (format 2, read only); recordV3 then the binary
// list of format3.go, written from the next change of the list on.
type usedWire struct {
	ID      uint64 `json:"i"`
	State   State  `json:"s,omitempty"`
	At      int64  `json:"a,omitempty"`
	ShiftID uint64 `json:"sh,omitempty"`
}

// getUsed reads code's list of uses (nil when it has none).
func getUsed(b *bolt.Bucket, code []byte) ([]FinishedCode, error) {
	raw := b.Get(code)
	if raw == nil {
		return nil, nil
	}
	switch raw[0] {
	case '[':
		var list []FinishedCode
		if err := json.Unmarshal(raw, &list); err != nil {
			return nil, fmt.Errorf("store: damaged entry %x in used_by_code: %w", code, err)
		}
		return list, nil
	case recordV3:
		list, err := decodeUsed3(string(code), raw[1:])
		if err != nil {
			return nil, fmt.Errorf("store: damaged entry %x in used_by_code: %w", code, err)
		}
		return list, nil
	case recordV2:
	default:
		return nil, fmt.Errorf("store: entry %x in used_by_code has format %#x, unknown to this build (written by a newer one?)", code, raw[0])
	}
	var ws []usedWire
	if err := json.Unmarshal(raw[1:], &ws); err != nil {
		return nil, fmt.Errorf("store: damaged entry %x in used_by_code: %w", code, err)
	}
	list := make([]FinishedCode, len(ws))
	for i, w := range ws {
		list[i] = FinishedCode{Code: string(code), ID: w.ID, State: w.State, At: fromUnixNano(w.At), ShiftID: w.ShiftID}
	}
	return list, nil
}

// putUsed writes code's list of uses in format 3 (only what the index
// keeps: id, state, time of use, shift; format3.go).
func putUsed(b *bolt.Bucket, code []byte, list []FinishedCode) error {
	return b.Put(code, encodeUsed3(list))
}

// putUsed2 writes code's list in format 2 (no longer written; for tests).
func putUsed2(b *bolt.Bucket, code []byte, list []FinishedCode) error {
	ws := make([]usedWire, len(list))
	for i, f := range list {
		ws[i] = usedWire{ID: f.ID, State: f.State, At: unixNano(f.At), ShiftID: f.ShiftID}
	}
	raw, err := json.Marshal(ws)
	if err != nil {
		return err
	}
	return b.Put(code, append([]byte{recordV2}, raw...))
}
