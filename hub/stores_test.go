package hub_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	bolterrors "go.etcd.io/bbolt/errors"

	"cardtill/hub"
)

// The hub's tests run against both stores: the bbolt file by default, and
// PostgreSQL with CARDTILL_TEST_HUB_STORE=postgres (.ci/run runs the suite
// both ways). CARDTILL_TEST_DATABASE_URL names the server (a throwaway
// cluster: every store is a schema of its own in it).

// onPostgres reports whether this run tests the PostgreSQL store.
func onPostgres() bool { return os.Getenv("CARDTILL_TEST_HUB_STORE") == "postgres" }

// pgURL is the test server's URL. Without one the test is skipped, except
// in CI, where it must run.
func pgURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("CARDTILL_TEST_DATABASE_URL")
	if u == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: CARDTILL_TEST_DATABASE_URL is not set: .ci/run starts a PostgreSQL cluster and exports it")
		}
		t.Skip("no PostgreSQL server: set CARDTILL_TEST_DATABASE_URL (postgres://USER@127.0.0.1:PORT/DB; .ci/run shows how to start one) to run the PostgreSQL store's tests")
	}
	return u
}

// pgSchemaURL creates (if needed) a schema named after key and returns a
// URL whose connections use it, so each store of a test is a database of
// its own and reopening key finds the same data.
func pgSchemaURL(t testing.TB, key string) string {
	t.Helper()
	base := pgURL(t)
	sum := sha256.Sum256([]byte(key))
	schema := "t_" + hex.EncodeToString(sum[:10])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("test database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+schema); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openStoreClock opens the store of path (a bbolt file, or its schema in
// PostgreSQL) with the clock now, checks it and closes it when the test
// ends.
func openStoreClock(t testing.TB, path string, now func() time.Time) hub.Store {
	t.Helper()
	var s hub.Store
	if onPostgres() {
		pg, err := hub.OpenPG(context.Background(), pgSchemaURL(t, path), hub.PGOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		s = pg
	} else {
		b, err := hub.OpenStore(path, hub.StoreOptions{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		s = b
	}
	t.Cleanup(func() {
		if err := s.Check(); err != nil && !errors.Is(err, bolterrors.ErrDatabaseNotOpen) && !hub.IsClosed(err) {
			t.Errorf("store check: %v", err)
		}
		_ = s.Close()
	})
	return s
}

// openStore is openStoreClock on the tests' fixed clock.
func openStore(t testing.TB, path string) hub.Store { return openStoreClock(t, path, clock) }

// boltOnly skips a test of the bbolt file itself on a PostgreSQL run.
func boltOnly(t *testing.T) {
	if onPostgres() {
		t.Skip("a test of the bbolt file (this run tests the PostgreSQL store)")
	}
}
