// Package pin owns the manager's PIN: its hash as kept in the config
// (argon2id, in the PHC string format), checking a PIN against it, and
// the pause after repeated wrong PINs (Guard). A PIN is never kept, logged
// or returned by this package; errors never contain it.
//
// Why argon2id (golang.org/x/crypto/argon2) rather than bcrypt: a PIN is a
// few digits, so its hash, if the config file is copied, can only be
// protected by making each guess expensive; argon2id makes each guess cost
// memory as well as time (19 MiB here, the OWASP minimum), which is what
// keeps GPUs and ASICs from trying millions at once, and bcrypt does not.
// The PHC string carries its parameters, so they can be raised later
// without breaking hashes already in configs. Even so a 6-digit PIN falls
// to an offline search in hours: the config file stays readable only by
// the till's account.
package pin

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	stdsync "sync"
	"time"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// Default is what Hash uses: 19 MiB, 2 passes, 1 thread (OWASP's
// recommended minimum for argon2id); about 30 to 60 ms on a till PC.
var Default = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// Lengths of a PIN, in digits.
const (
	MinLen = 4
	MaxLen = 12
)

const (
	saltLen = 16
	keyLen  = 32
)

// ErrFormat: a PIN that is not MinLen to MaxLen digits.
var ErrFormat = fmt.Errorf("a PIN is %d to %d digits", MinLen, MaxLen)

// ErrHash: a hash string that is not an argon2id PHC string this package
// can check.
var ErrHash = errors.New("not an argon2id PIN hash")

// ValidPIN reports whether pin has the form of a PIN (digits only).
func ValidPIN(pin string) error {
	if len(pin) < MinLen || len(pin) > MaxLen {
		return ErrFormat
	}
	for _, r := range pin {
		if r < '0' || r > '9' {
			return ErrFormat
		}
	}
	return nil
}

// Hash returns the PHC string of pin with a fresh random salt and Default.
func Hash(pin string) (string, error) { return HashWith(pin, Default) }

// HashWith is Hash with other parameters (tests use cheap ones).
func HashWith(pin string, p Params) (string, error) {
	if err := ValidPIN(pin); err != nil {
		return "", err
	}
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 {
		return "", fmt.Errorf("pin: bad argon2id parameters m=%d t=%d p=%d", p.Memory, p.Time, p.Threads)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("pin: no randomness for the salt: %w", err)
	}
	key := argon2.IDKey([]byte(pin), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// hash is a parsed PHC string.
type hash struct {
	p         Params
	salt, key []byte
}

// Parse checks that s is an argon2id PHC string with sane parameters. The
// error never quotes s.
func Parse(s string) error { _, err := parse(s); return err }

func parse(s string) (hash, error) {
	var h hash
	parts := strings.Split(s, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, ErrHash
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: version %q (this build knows v=%d)", ErrHash, parts[2], argon2.Version)
	}
	var m, t, p uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return h, fmt.Errorf("%w: parameters %q", ErrHash, parts[3])
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			return h, fmt.Errorf("%w: parameters %q", ErrHash, parts[3])
		}
	}
	// Bounds: at most 1 GiB and 64 passes, so a bad config cannot make a
	// PIN check take minutes or all the memory.
	if m < 8 || m > 1<<20 || t < 1 || t > 64 || p < 1 || p > 16 {
		return h, fmt.Errorf("%w: parameters %q out of range", ErrHash, parts[3])
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return h, fmt.Errorf("%w: salt or hash is not base64 of the right length", ErrHash)
	}
	h.p = Params{Memory: uint32(m), Time: uint32(t), Threads: uint8(p)}
	h.salt, h.key = salt, key
	return h, nil
}

// Verify reports whether pin matches the PHC string s (in constant time
// once hashed). It fails only for a bad s.
func Verify(s, pin string) (bool, error) {
	h, err := parse(s)
	if err != nil {
		return false, err
	}
	if ValidPIN(pin) != nil {
		// Still spend the time: a wrong PIN and a malformed one look the same.
		pin = "0000"
		argon2.IDKey([]byte(pin), h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.key)))
		return false, nil
	}
	key := argon2.IDKey([]byte(pin), h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1, nil
}

// Guard checks PINs against one hash and pauses after repeated failures:
// after FreeTries wrong PINs in a row every further try is refused
// without checking until a pause has passed, 30 s after the first pause,
// doubling with each wrong PIN after it, at most 10 minutes. A right PIN
// ends the series. The count lives in memory: a restart of the till
// (which a cashier cannot do from the till screen) begins a new series.
type Guard struct {
	h   hash
	now func() time.Time

	mu    stdsync.Mutex
	fails int
	until time.Time
}

// Pause bounds.
const (
	FreeTries  = 3
	FirstPause = 30 * time.Second
	MaxPause   = 10 * time.Minute
)

// NewGuard parses the PHC string s; now is the clock (time.Now when nil).
func NewGuard(s string, now func() time.Time) (*Guard, error) {
	h, err := parse(s)
	if err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	return &Guard{h: h, now: now}, nil
}

// Try checks pin. ok is true for the right PIN; wait > 0 says the guard is
// pausing and pin was not checked (try again after wait), or, with ok
// false after a check, that the next try must wait that long.
func (g *Guard) Try(pin string) (ok bool, wait time.Duration) {
	g.mu.Lock()
	if w := g.until.Sub(g.now()); w > 0 {
		g.mu.Unlock()
		return false, w
	}
	g.mu.Unlock()
	ok = ValidPIN(pin) == nil
	var key []byte
	if !ok {
		pin = "0000"
	}
	key = argon2.IDKey([]byte(pin), g.h.salt, g.h.p.Time, g.h.p.Memory, g.h.p.Threads, uint32(len(g.h.key)))
	ok = ok && subtle.ConstantTimeCompare(key, g.h.key) == 1
	g.mu.Lock()
	defer g.mu.Unlock()
	if ok {
		g.fails, g.until = 0, time.Time{}
		return true, 0
	}
	g.fails++
	if g.fails >= FreeTries {
		p := FirstPause << (g.fails - FreeTries)
		if p > MaxPause || p <= 0 || g.fails-FreeTries > 20 {
			p = MaxPause
		}
		g.until = g.now().Add(p)
		return false, p
	}
	return false, 0
}

// Failures returns the wrong PINs in a row so far.
func (g *Guard) Failures() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.fails
}
