package pin

import (
	"errors"
	"strings"
	"testing"
	"time"
)

var cheap = Params{Memory: 64, Time: 1, Threads: 1}

// TestHashVerify: a hash checks its own PIN and no other, two hashes of
// one PIN differ (salt), the string carries the parameters, and never the
// PIN.
func TestHashVerify(t *testing.T) {
	t.Parallel()
	h, err := HashWith("4821", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") || strings.Contains(h, "4821") {
		t.Fatalf("hash %q", h)
	}
	h2, _ := HashWith("4821", cheap)
	if h == h2 {
		t.Fatal("two hashes of one PIN are equal: no salt")
	}
	for pin, want := range map[string]bool{"4821": true, "4822": false, "48210": false, "": false, "abcd": false} {
		if ok, err := Verify(h, pin); err != nil || ok != want {
			t.Errorf("Verify(%q) = %v %v, want %v", pin, ok, err, want)
		}
	}
}

// TestDefaultHash: Hash uses the default parameters and verifies.
func TestDefaultHash(t *testing.T) {
	t.Parallel()
	h, err := Hash("123456")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if ok, err := Verify(h, "123456"); !ok || err != nil {
		t.Fatal(ok, err)
	}
}

// TestBadPINsAndHashes: a PIN that is not 4 to 12 digits is refused by
// Hash; a string that is not an argon2id hash (or has absurd parameters)
// by Parse, with an error that does not quote it.
func TestBadPINsAndHashes(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", "123", "1234567890123", "12a4", "１２３４", "12 34"} {
		if _, err := HashWith(p, cheap); !errors.Is(err, ErrFormat) {
			t.Errorf("Hash(%q): %v", p, err)
		}
	}
	good, _ := HashWith("4821", cheap)
	parts := strings.Split(good, "$")
	for _, s := range []string{"", "4821", "$2a$10$abcdefghijklmnopqrstuv", "$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=16$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=99999999,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1$" + parts[4] + "$" + parts[5]} {
		err := Parse(s)
		if !errors.Is(err, ErrHash) {
			t.Errorf("Parse(%q): %v", s, err)
		}
		if err != nil && len(s) > 8 && strings.Contains(err.Error(), parts[5]) {
			t.Errorf("error quotes the hash: %v", err)
		}
	}
	if err := Parse(good); err != nil {
		t.Fatal(err)
	}
}

// TestGuardPauses: three wrong PINs in a row, then a pause during which
// even the right PIN is not checked; the pause doubles with each wrong PIN
// after it; the right PIN after a pause ends the series.
func TestGuardPauses(t *testing.T) {
	t.Parallel()
	h, _ := HashWith("4821", cheap)
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	g, err := NewGuard(h, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < FreeTries; i++ {
		if ok, wait := g.Try("1111"); ok || wait != 0 {
			t.Fatalf("wrong PIN %d: %v %s", i, ok, wait)
		}
	}
	if ok, wait := g.Try("1111"); ok || wait != FirstPause {
		t.Fatalf("wrong PIN %d: %v %s, want a pause of %s", FreeTries, ok, wait, FirstPause)
	}
	now = now.Add(10 * time.Second)
	if ok, wait := g.Try("4821"); ok || wait != 20*time.Second {
		t.Fatalf("right PIN during the pause: %v %s, want refused, 20s left", ok, wait)
	}
	now = now.Add(20 * time.Second)
	if ok, wait := g.Try("2222"); ok || wait != 2*FirstPause {
		t.Fatalf("wrong PIN after the pause: %v %s, want %s", ok, wait, 2*FirstPause)
	}
	now = now.Add(2 * FirstPause)
	if ok, wait := g.Try("4821"); !ok || wait != 0 || g.Failures() != 0 {
		t.Fatalf("right PIN after the pause: %v %s, %d failures", ok, wait, g.Failures())
	}
	if ok, wait := g.Try("1111"); ok || wait != 0 {
		t.Fatalf("a new series starts free: %v %s", ok, wait)
	}
	for range 30 {
		now = now.Add(time.Hour)
		g.Try("1111")
	}
	if _, wait := g.Try("1111"); wait > MaxPause {
		t.Fatalf("pause %s beyond %s", wait, MaxPause)
	}
}
