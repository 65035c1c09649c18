package wechat_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"cardtill/wechat"
)

// FuzzParseEvent: any bytes give a typed event or ErrPushMalformed, never a
// panic; a parsed event keeps the input as Raw and parses the same again.
// Seed corpus: testdata/fuzz/FuzzParseEvent (the seed's 13 events and
// malformed variants).
func FuzzParseEvent(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := wechat.ParseEvent(data)
		if err != nil {
			if !errors.Is(err, wechat.ErrPushMalformed) {
				t.Fatalf("error %v is not ErrPushMalformed", err)
			}
			return
		}
		h := ev.Head()
		if !bytes.Equal(h.Raw, data) {
			t.Fatal("Raw differs from the input")
		}
		if h.Event != "" && reflect.TypeOf(ev) == reflect.TypeOf(&wechat.UnknownEvent{}) && knownEvent(h.Event) {
			t.Fatalf("known event %q parsed as unknown", h.Event)
		}
		again, err := wechat.ParseEvent(data)
		if err != nil || again.Head().DedupKey() != h.DedupKey() {
			t.Fatalf("second parse differs: %v", err)
		}
	})
}

func knownEvent(name string) bool {
	for _, e := range seedEvents {
		if e.name == name {
			return true
		}
	}
	return false
}

// FuzzDecryptMessage: any Encrypt text decrypts or fails cleanly; and any
// message sealed with EncryptMessage opens to itself with the AppID.
// Seed corpus: testdata/fuzz/FuzzDecryptMessage.
func FuzzDecryptMessage(f *testing.F) {
	key, err := wechat.ParseEncodingAESKey(testKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, encrypt string, msg []byte) {
		if m, _, err := wechat.DecryptMessage(key, encrypt); err == nil && m == nil {
			t.Fatal("nil message without an error")
		}
		enc, err := wechat.EncryptMessage(key, testAppID, msg, bytes.NewReader(make([]byte, 16)))
		if err != nil {
			t.Fatal(err)
		}
		got, app, err := wechat.DecryptMessage(key, enc)
		if err != nil || !bytes.Equal(got, msg) || app != testAppID {
			t.Fatalf("round trip: %q %q %v", got, app, err)
		}
	})
}
