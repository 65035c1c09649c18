package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	stdsync "sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"cardtill/hub"
	"cardtill/wechat"
)

// openPG opens a PostgreSQL store on the schema of key, closed at the end.
func openPG(t testing.TB, key string, o hub.PGOptions) *hub.PGStore {
	t.Helper()
	if o.Now == nil {
		o.Now = clock
	}
	s, err := hub.OpenPG(context.Background(), pgSchemaURL(t, key), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// event i is a user_get_card of its own code.
func pgEvent(t testing.TB, i int) *wechat.Push {
	t.Helper()
	raw := fmt.Sprintf("<xml><ToUserName>gh</ToUserName><FromUserName>o%d</FromUserName><CreateTime>%d</CreateTime><MsgType>event</MsgType><Event>user_get_card</Event><CardId>card</CardId><UserCardCode>c%06d</UserCardCode></xml>", i%7, 1700000000+i, i)
	ev, err := wechat.ParseEvent([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return &wechat.Push{Event: ev, Mode: wechat.ModeSafe, Timestamp: testNow.Unix(), Nonce: fmt.Sprint("n", i)}
}

// readFeed follows the feed from cursor to its end.
func readFeed(t testing.TB, s hub.Store, cursor string) ([]string, string) {
	t.Helper()
	var codes []string
	for {
		p, err := s.Changes(cursor, 7)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Changes {
			codes = append(codes, c.Code)
		}
		cursor = p.Next
		if !p.More {
			return codes, cursor
		}
	}
}

// aloneOnTheCluster skips a test whose feed reads wait on the cluster's
// transaction horizon (PGStore.Changes) when .ci/run says other packages'
// tests share the cluster (CARDTILL_PG_SHARED): their transactions hold
// the horizon back, so these run in .ci/run's step of the hub's tests
// alone on PostgreSQL.
func aloneOnTheCluster(t *testing.T) {
	t.Helper()
	if os.Getenv("CARDTILL_PG_SHARED") != "" {
		t.Skip("skipped: CARDTILL_PG_SHARED is set (other packages' tests share the PostgreSQL cluster and hold its transaction horizon back; .ci/run runs this in the hub's step alone)")
	}
}

// A feed row that took its id first but commits last (hub A's push
// transaction held open while hub B commits a later id) is not skipped by
// a till that read the feed in between: the page stops before rows of any
// transaction still running.
func TestPGFeedNoSkipLateCommit(t *testing.T) {
	// Serial: the feed's cut is the cluster's transaction horizon
	// (PGStore.Changes), which the other tests' transactions hold back.
	aloneOnTheCluster(t)
	key := t.Name() + t.TempDir()
	a := openPG(t, key, hub.PGOptions{})
	b := openPG(t, key, hub.PGOptions{})
	if _, _, err := a.AddEvent(pgEvent(t, 0)); err != nil {
		t.Fatal(err)
	}
	codes, cursor := readFeed(t, b, "")
	if len(codes) != 1 {
		t.Fatalf("first read: %v", codes)
	}
	// Hub A's transaction: its feed row gets the next id, and stays open.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgSchemaURL(t, key))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	if err := tx.QueryRow(ctx, `INSERT INTO hub_events (received, mode, event, notice, raw, dedup_key) VALUES (now(), 'safe', 'user_get_card', false, '<xml/>', 'late') RETURNING seq`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO hub_feed (event_seq, item) VALUES ($1, '{"change":{"code":"late","status":"NORMAL"}}')`, seq); err != nil {
		t.Fatal(err)
	}
	// Hub B commits a push: a later id, committed first.
	if _, _, err := b.AddEvent(pgEvent(t, 1)); err != nil {
		t.Fatal(err)
	}
	// A till reads now, through either hub: B's row waits behind A's open
	// transaction (an id cursor would hand out B's id and skip A's row).
	mid, midCursor := readFeed(t, a, cursor)
	if len(mid) != 0 {
		t.Fatalf("read while an earlier transaction is open: %v (a cursor past it would skip its row)", mid)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	rest, _ := readFeed(t, b, midCursor)
	if strings.Join(rest, ",") != "late,c000001" {
		t.Fatalf("after the late commit: %v, want late,c000001", rest)
	}
}

// Two hubs on one database store pushes at once, each push and its retry
// sent to both together, while a till follows the feed through them in
// turn: every push is stored once, and the till's feed, read while the
// hubs committed, holds every item exactly once.
func TestPGTwoHubsCommittingAtOnce(t *testing.T) {
	// Serial: the feed's cut is the cluster's transaction horizon
	// (PGStore.Changes), which the other tests' transactions hold back.
	aloneOnTheCluster(t)
	key := t.Name() + t.TempDir()
	hubs := []hub.Store{openPG(t, key, hub.PGOptions{}), openPG(t, key, hub.PGOptions{})}
	const n = 120
	done := make(chan struct{})
	var read []string
	var readErr error
	go func() {
		defer close(done)
		cursor := ""
		for i := 0; ; i++ {
			p, err := hubs[i%2].Changes(cursor, 5)
			if err != nil {
				readErr = err
				return
			}
			for _, c := range p.Changes {
				read = append(read, c.Code)
			}
			finished := p.Next == cursor && !p.More && len(read) >= n
			cursor = p.Next
			if finished {
				return
			}
		}
	}()
	var wg stdsync.WaitGroup
	dups := make([]int, n)
	var mu stdsync.Mutex
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 4 {
				var inner stdsync.WaitGroup
				for _, h := range hubs {
					inner.Add(1)
					go func() {
						defer inner.Done()
						_, dup, err := h.AddEvent(pgEvent(t, i))
						if err != nil {
							t.Error(err)
							return
						}
						if dup {
							mu.Lock()
							dups[i]++
							mu.Unlock()
						}
					}()
				}
				inner.Wait()
			}
		}()
	}
	wg.Wait()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the till never caught up with the feed")
	}
	if readErr != nil {
		t.Fatal(readErr)
	}
	for i, d := range dups {
		if d != 1 {
			t.Errorf("push %d sent to both hubs: %d retries found, want 1", i, d)
		}
	}
	evs, err := hubs[0].Events(time.Time{}, 0)
	if err != nil || len(evs) != n {
		t.Fatalf("stored %d events, want %d: %v", len(evs), n, err)
	}
	seen := map[string]int{}
	for _, c := range read {
		seen[c]++
	}
	for i := range n {
		if c := fmt.Sprintf("c%06d", i); seen[c] != 1 {
			t.Errorf("code %s read %d times by the till following the feed", c, seen[c])
		}
	}
	a, _ := readFeed(t, hubs[0], "")
	b, _ := readFeed(t, hubs[1], "")
	if strings.Join(a, ",") != strings.Join(b, ",") || len(a) != n {
		t.Fatalf("the feed differs between the hubs (%d, %d items)", len(a), len(b))
	}
}

// Hubs starting together on an empty database migrate it once (the
// advisory lock), and all of them work.
func TestPGMigrateConcurrently(t *testing.T) {
	t.Parallel()
	key := t.Name() + t.TempDir()
	u := pgSchemaURL(t, key)
	var wg stdsync.WaitGroup
	stores := make([]*hub.PGStore, 4)
	errs := make([]error, 4)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = hub.OpenPG(context.Background(), u, hub.PGOptions{Now: clock})
		}()
	}
	wg.Wait()
	for i, s := range stores {
		if errs[i] != nil {
			t.Fatalf("hub %d: %v", i, errs[i])
		}
		defer s.Close()
		if err := s.Check(); err != nil {
			t.Fatalf("hub %d: %v", i, err)
		}
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM hub_schema_migrations").Scan(&rows); err != nil || rows != hub.PGSchemaVersion() {
		t.Fatalf("migrations recorded: %d %v, want %d", rows, err, hub.PGSchemaVersion())
	}
	// A schema newer than this build's is refused.
	if _, err := conn.Exec(ctx, "INSERT INTO hub_schema_migrations (version, name) VALUES (999, '0999_future.sql')"); err != nil {
		t.Fatal(err)
	}
	var se *hub.SchemaError
	if _, err := hub.OpenPG(ctx, u, hub.PGOptions{}); !errors.Is(err, hub.ErrSchemaNewer) || !errors.As(err, &se) || se.Have != 999 || se.Want != hub.PGSchemaVersion() {
		t.Fatalf("newer schema: %v", err)
	}
}

// A bad URL is refused without showing its password.
func TestPGBadURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"mysql://root:hunter2@db/hub", "postgres://hub:hunter2@db:notaport/hub", "postgres://hub:hunter2@db/hub?sslmode=sometimes"} {
		_, err := hub.OpenPG(context.Background(), u, hub.PGOptions{})
		if !errors.Is(err, hub.ErrBadDatabaseURL) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: %v", hub.RedactURL(u), err)
		}
	}
}

// cutProxy is a TCP relay between the store and the database that the
// test can cut (the database unreachable) and mend.
type cutProxy struct {
	target string
	addr   string
	mu     stdsync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	p := &cutProxy{target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *cutProxy) serve(ln net.Listener) {
	p.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, d)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(d, c); d.Close() }()
			go func() { _, _ = io.Copy(c, d); c.Close() }()
		}
	}()
}

// cut closes the listener and every relayed connection.
func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// mend listens again on the same address.
func (p *cutProxy) mend(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serve(ln)
}

// The database drops mid-run: pushes are answered 500 (never success
// unstored), tills keep getting the token, the log says so once, and the
// hub is back by itself when the database is.
func TestPGDatabaseDrops(t *testing.T) {
	t.Parallel()
	base, err := url.Parse(pgSchemaURL(t, t.Name()+t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	p := newCutProxy(t, base.Host)
	base.Host = p.addr
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	st, err := hub.OpenPG(context.Background(), base.String(), hub.PGOptions{Now: clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tokens := tokenFunc(func(context.Context) (string, time.Time, error) { return wxToken, testNow.Add(time.Hour), nil })
	s, err := hub.NewServer(hub.Options{Push: codec(t), Store: st, Tokens: tokens, Now: clock, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	h := &testHub{url: srv.URL, store: st, push: codec(t), logs: logs, srv: srv}
	key := hub.NewTerminalKey()
	if err := st.AddTerminal("till-1", key); err != nil {
		t.Fatal(err)
	}
	c := hub.NewClient(hub.ClientOptions{URL: srv.URL, TerminalKey: key, HTTPClient: srv.Client()})
	if _, err := c.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
	raw := seedEvents(t)["user_consume_card"]
	if st, b := h.send(t, wechat.ModeSafe, raw); st != 200 || b != "success" {
		t.Fatalf("push: %d %q", st, b)
	}

	p.cut()
	second := retime(raw, wechat.ModeSafe)
	for range 3 {
		if st, b := h.send(t, wechat.ModeSafe, second); st != 500 || b == "success" {
			t.Fatalf("push with the database down: %d %q, want 500", st, b)
		}
	}
	if tok, err := c.Token(context.Background()); err != nil || tok.AccessToken != wxToken {
		t.Fatalf("token with the database down: %v", err)
	}
	if _, err := hub.NewClient(hub.ClientOptions{URL: srv.URL, TerminalKey: hub.NewTerminalKey(), HTTPClient: srv.Client()}).Token(context.Background()); !errors.Is(err, hub.ErrUnauthorized) {
		t.Fatalf("an unknown key with the database down: %v", err)
	}
	if n := strings.Count(logs.String(), "hub database unreachable"); n != 1 {
		t.Fatalf("said %d times that the database is unreachable, want once:\n%s", n, logs)
	}

	p.mend(t)
	// WeChat's retry: stored now, once.
	if st, b := h.send(t, wechat.ModeSafe, second); st != 200 || b != "success" {
		t.Fatalf("retry once the database is back: %d %q", st, b)
	}
	if n := strings.Count(logs.String(), "hub database reachable again"); n != 1 {
		t.Fatalf("said %d times that the database is back, want once:\n%s", n, logs)
	}
	evs := h.events(t)
	if len(evs) != 2 || !bytes.Equal([]byte(evs[1].Raw), second) {
		t.Fatalf("stored %d events", len(evs))
	}
	if strings.Contains(logs.String(), key) {
		t.Fatal("the log holds the terminal key")
	}
}

// Unreachable at start: the hub starts, answers pushes 500, and migrates
// and stores once the database is there.
func TestPGUnreachableAtStart(t *testing.T) {
	t.Parallel()
	base, err := url.Parse(pgSchemaURL(t, t.Name()+t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	p := newCutProxy(t, base.Host)
	p.cut()
	base.Host = p.addr
	st, err := hub.OpenPG(context.Background(), base.String(), hub.PGOptions{Now: clock})
	if err != nil {
		t.Fatalf("open with the database unreachable: %v", err)
	}
	defer st.Close()
	if _, _, err := st.AddEvent(pgEvent(t, 1)); err == nil {
		t.Fatal("a push was taken with the database unreachable")
	}
	p.mend(t)
	if _, dup, err := st.AddEvent(pgEvent(t, 1)); err != nil || dup {
		t.Fatalf("once reachable: %v %v", dup, err)
	}
}
