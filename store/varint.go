package store

import "encoding/binary"

// varReader reads the uvarints, varints and length-prefixed strings of
// the store's small binary entries: conflict entries (conflicts.go),
// tombstones (retention.go) and format 3 used-by-code lists (format3.go).
// After the first short or malformed value it reads only zeros and keeps
// bad set, so a decoder reads its fields and checks bad once.
type varReader struct {
	b   []byte
	bad bool
}

func (r *varReader) uv() uint64 {
	if r.bad {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *varReader) sv() int64 {
	if r.bad {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *varReader) str() string {
	l := r.uv()
	if r.bad || l > uint64(len(r.b)) {
		r.bad = true
		return ""
	}
	s := string(r.b[:l])
	r.b = r.b[l:]
	return s
}
