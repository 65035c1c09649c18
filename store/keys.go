package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ---- encoding helpers ----

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func k2(a, b uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, a)
	binary.BigEndian.PutUint64(k[8:], b)
	return k
}

func dueKey(t time.Time, id uint64) []byte {
	n := t.UnixNano()
	if n < 0 {
		n = 0
	}
	return k2(uint64(n), id)
}

func stateKey(s State, id uint64) []byte {
	k := append([]byte(s), 0)
	return append(k, u64(id)...)
}

// reasonKey is a consumed redemption's key in bConsumedBy.
func reasonKey(reason string, id uint64) []byte {
	k := append([]byte(reason), 0)
	return append(k, u64(id)...)
}

func getJSON(b *bolt.Bucket, k []byte, v any) (bool, error) {
	raw := b.Get(k)
	if raw == nil {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, fmt.Errorf("store: damaged entry %x in %s: %w", k, "bucket", err)
	}
	return true, nil
}

func putJSON(b *bolt.Bucket, k []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(k, raw)
}
