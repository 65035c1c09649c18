package hub_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/wechat"
)

var cheapPW = hub.PasswordParams{Memory: 64, Time: 1, Threads: 1}

// Accounts and sessions on both stores (CARDTILL_TEST_HUB_STORE): a name
// once, only the hash kept, bad input refused and nothing stored; a
// session of a removed account ends with it; an expired one is not found
// and is pruned.
func TestAccountsAndSessions(t *testing.T) {
	t.Parallel()
	s := openStore(t, filepath.Join(t.TempDir(), "hub.db")).(hub.AccountStore)
	h, err := hub.PasswordHash("correct horse", cheapPW)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(h, "correct horse") || !strings.HasPrefix(h, "$argon2id$v=19$") {
		t.Fatalf("hash %q", h)
	}
	for _, bad := range []struct{ name, hash string }{{"", h}, {"a b", h}, {strings.Repeat("x", 65), h}, {"ok", "plain"}, {"ok", "$argon2id$v=19$m=1,t=1,p=1$AAAA$AAAA"}} {
		if err := s.AddAccount(bad.name, bad.hash); err == nil {
			t.Errorf("AddAccount(%q, %q) accepted", bad.name, bad.hash)
		}
	}
	if as, _ := s.Accounts(); len(as) != 0 {
		t.Fatalf("bad input stored: %+v", as)
	}
	if err := s.AddAccount("zhao", h); err != nil {
		t.Fatal(err)
	}
	if err := s.AddAccount("zhao", h); !errors.Is(err, hub.ErrAccountExists) {
		t.Fatalf("twice: %v", err)
	}
	got, ok, err := s.AccountHash("zhao")
	if err != nil || !ok || got != h {
		t.Fatalf("AccountHash: %v %v", ok, err)
	}
	if good, _ := hub.VerifyPassword(got, "correct horse"); !good {
		t.Fatal("right password refused")
	}
	if good, _ := hub.VerifyPassword(got, "correct horsf"); good {
		t.Fatal("wrong password accepted")
	}
	if good, _ := hub.VerifyPassword(got, "correct horse"+strings.Repeat("x", 2000)); good {
		t.Fatal("an overlong password accepted")
	}
	now := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	ss := hub.Session{IDHash: sha256.Sum256([]byte("id")), Account: "zhao", CSRF: "tok", Created: now, Expires: now.Add(time.Hour)}
	if err := s.AddSession(ss); err != nil {
		t.Fatal(err)
	}
	if err := s.AddSession(hub.Session{IDHash: sha256.Sum256([]byte("x")), Account: "nobody", Expires: now.Add(time.Hour)}); !errors.Is(err, hub.ErrNoAccount) {
		t.Fatalf("session of no account: %v", err)
	}
	if g, ok, err := s.Session(ss.IDHash, now); err != nil || !ok || g.Account != "zhao" || g.CSRF != "tok" {
		t.Fatalf("Session: %+v %v %v", g, ok, err)
	}
	if _, ok, _ := s.Session(ss.IDHash, now.Add(time.Hour)); ok {
		t.Fatal("expired session found")
	}
	if err := s.PruneSessions(now.Add(2 * time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Session(ss.IDHash, now); ok {
		t.Fatal("pruned session found")
	}
	ss.IDHash = sha256.Sum256([]byte("id2"))
	if err := s.AddSession(ss); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveAccount("zhao"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Session(ss.IDHash, now); ok {
		t.Fatal("session of a removed account found")
	}
	if err := s.AddAccount("zhao", h); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Session(ss.IDHash, now); ok {
		t.Fatal("an old session came back with the account")
	}
	if err := s.RemoveAccount("nobody"); !errors.Is(err, hub.ErrNoAccount) {
		t.Fatalf("remove nobody: %v", err)
	}
}

// While a bbolt hub runs, the accounts are reached through its admin
// socket (the CLI's path); errors keep their meaning across it.
func TestAccountsOverTheAdminSocket(t *testing.T) {
	t.Parallel()
	boltOnly(t)
	dir := t.TempDir()
	st := openStore(t, filepath.Join(dir, "hub.db"))
	codec, err := wechat.NewPushCodec(wechat.PushConfig{Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := hub.NewServer(hub.Options{Push: codec, Store: st})
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "a.sock")
	ln, err := hub.ListenAdmin(sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeAdmin(ctx, ln) }()
	defer func() { cancel(); <-done }()
	c, err := hub.DialAdmin(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h, _ := hub.PasswordHash("correct horse", cheapPW)
	if err := c.AddAccount("zhao", h); err != nil {
		t.Fatal(err)
	}
	if err := c.AddAccount("zhao", h); !errors.Is(err, hub.ErrAccountExists) {
		t.Fatalf("twice: %v", err)
	}
	if err := c.AddAccount("bad name", h); err == nil || errors.Is(err, hub.ErrAccountExists) {
		t.Fatalf("bad name: %v", err)
	}
	as, err := c.Accounts()
	if err != nil || len(as) != 1 || as[0].Name != "zhao" {
		t.Fatalf("accounts: %+v %v", as, err)
	}
	if err := c.RemoveAccount("zhao"); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveAccount("zhao"); !errors.Is(err, hub.ErrNoAccount) {
		t.Fatalf("remove twice: %v", err)
	}
}
