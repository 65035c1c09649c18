package store

import (
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Check reports a redemption stored under a key that is not an 8-byte id
// (seen after a power cut in the power-cut tests) and never panics on it.
func TestCheckMalformedRedemptionKey(t *testing.T) {
	t.Parallel()
	db := openTest(t, Options{})
	db.Close()
	path := db.path
	db.DB = nil
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bRed).Put([]byte{1, 2, 3, 4, 5}, []byte(`{"ID":1,"State":"rejected"}`))
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = ro.Check()
	if err == nil || !strings.Contains(err.Error(), "0102030405") {
		t.Fatalf("check: %v", err)
	}
}
