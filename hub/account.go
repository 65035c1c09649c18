package hub

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Dashboard accounts and their login sessions (docs/ARCHITECTURE.md, "The
// dashboard"): HQ's people who may open /admin/. They are not terminals: a
// terminal key never opens the dashboard and a dashboard session never
// fetches a token (the two are kept in different tables, checked by
// different code, and the token service reads only the Bearer header).
// Only a password's argon2id hash is stored, and only a session id's
// SHA-256: a copy of the store lets no one in.

// AccountStore keeps the dashboard's accounts and sessions: BoltStore and
// PGStore. Sessions live in the store, not in a hub's memory, so several
// hubs on one PostgreSQL database serve one login without sticky sessions.
type AccountStore interface {
	// AddAccount stores name with the PHC string hash (PasswordHash);
	// ErrAccountExists when name is taken.
	AddAccount(name, hash string) error
	// RemoveAccount removes name and every session of it at once;
	// ErrNoAccount when there is none.
	RemoveAccount(name string) error
	// Accounts lists the accounts by name (no hashes).
	Accounts() ([]Account, error)
	// AccountHash is name's password hash; ok false when there is none.
	AccountHash(name string) (hash string, ok bool, err error)
	// AddSession stores a new session (its id's hash is the key).
	AddSession(s Session) error
	// Session is the session whose id hashes to idHash, if it exists, has
	// not expired at now, and its account still exists.
	Session(idHash [32]byte, now time.Time) (Session, bool, error)
	// RemoveSession ends a session (logout); no error when it is gone.
	RemoveSession(idHash [32]byte) error
	// PruneSessions removes the sessions expired before now.
	PruneSessions(now time.Time) error
}

// Account is a dashboard login, without its hash.
type Account struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
}

// Session is a dashboard login session. The browser holds the id; the
// store its SHA-256.
type Session struct {
	IDHash  [32]byte  `json:"-"`
	Account string    `json:"account"`
	CSRF    string    `json:"csrf"` // the token every form of this session carries
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
}

// Errors of AddAccount and RemoveAccount.
var (
	ErrAccountExists = errors.New("account already exists")
	ErrNoAccount     = errors.New("no such account")
)

// ValidAccountName checks an account name: 1 to 64 letters, digits, '.',
// '_', '-' or '@'.
func ValidAccountName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("account name %q: use 1 to 64 characters (letters, digits, '.', '_', '-', '@')", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' || c == '@') {
			return fmt.Errorf("account name %q: use only letters, digits, '.', '_', '-' and '@'", name)
		}
	}
	return nil
}

// Password lengths, in characters.
const (
	MinPassword = 10
	MaxPassword = 256
)

// ValidPassword checks a new password's length. The error never quotes it.
func ValidPassword(p string) error {
	if !utf8.ValidString(p) {
		return errors.New("the password is not valid UTF-8")
	}
	if n := utf8.RuneCountInString(p); n < MinPassword || n > MaxPassword {
		return fmt.Errorf("a password has %d to %d characters", MinPassword, MaxPassword)
	}
	return nil
}

// PasswordParams are argon2id's cost parameters for passwords.
type PasswordParams struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
}

// DefaultPasswordParams: 19 MiB, 2 passes, 1 thread, OWASP's minimum for
// argon2id (the reasoning of package pin: each guess costs memory, which
// GPUs cannot buy cheaply; bcrypt does not).
var DefaultPasswordParams = PasswordParams{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	pwSaltLen = 16
	pwKeyLen  = 32
)

// ErrPasswordHash: a stored hash that is not an argon2id PHC string.
var ErrPasswordHash = errors.New("not an argon2id password hash")

// PasswordHash returns the PHC string of password with a fresh salt.
func PasswordHash(password string, p PasswordParams) (string, error) {
	if err := ValidPassword(password); err != nil {
		return "", err
	}
	if p.Memory < 8*uint32(p.Threads) || p.Time < 1 || p.Threads < 1 {
		return "", fmt.Errorf("bad argon2id parameters m=%d t=%d p=%d", p.Memory, p.Time, p.Threads)
	}
	salt := make([]byte, pwSaltLen)
	_, _ = rand.Read(salt) // never fails (Go 1.24+)
	key := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, pwKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

type pwHash struct {
	p         PasswordParams
	salt, key []byte
}

// CheckPasswordHash checks that s is a PHC string PasswordHash made (with
// sane parameters). The error never quotes s.
func CheckPasswordHash(s string) error { _, err := parsePasswordHash(s); return err }

func parsePasswordHash(s string) (pwHash, error) {
	var h pwHash
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return h, ErrPasswordHash
	}
	var m, t, p uint64
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return h, ErrPasswordHash
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			return h, ErrPasswordHash
		}
	}
	if m < 8 || m > 1<<20 || t < 1 || t > 64 || p < 1 || p > 16 {
		return h, fmt.Errorf("%w: parameters out of range", ErrPasswordHash)
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return h, ErrPasswordHash
	}
	h.p = PasswordParams{Memory: uint32(m), Time: uint32(t), Threads: uint8(p)}
	h.salt, h.key = salt, key
	return h, nil
}

// VerifyPassword reports whether password matches the PHC string s, in
// constant time once hashed. It fails only for a bad s.
func VerifyPassword(s, password string) (bool, error) {
	h, err := parsePasswordHash(s)
	if err != nil {
		return false, err
	}
	tooLong := len(password) > 4*MaxPassword // no stored password is that long
	if tooLong {
		password = "" // bounded work, the same time spent
	}
	key := argon2.IDKey([]byte(password), h.salt, h.p.Time, h.p.Memory, h.p.Threads, uint32(len(h.key)))
	return subtle.ConstantTimeCompare(key, h.key) == 1 && !tooLong, nil
}
