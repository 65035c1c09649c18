// Package pgtest owns the tests' way to a PostgreSQL server: a schema of
// its own per test on the server CARDTILL_TEST_DATABASE_URL names (.ci/run
// starts a throwaway cluster and exports it). Outside CI a test without a
// server is skipped with a message saying how to run it; in CI it fails.
package pgtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

// URL is a schema of its own on the test PostgreSQL server
// (CARDTILL_TEST_DATABASE_URL); the test is skipped without one, except in
// CI.
func URL(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CARDTILL_TEST_DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("CI: CARDTILL_TEST_DATABASE_URL is not set: .ci/run starts a PostgreSQL cluster and exports it")
		}
		t.Skip("no PostgreSQL server: set CARDTILL_TEST_DATABASE_URL (see .ci/run) to run the hub's PostgreSQL tests")
	}
	sum := sha256.Sum256([]byte(t.Name() + t.TempDir()))
	schema := "c_" + hex.EncodeToString(sum[:10])
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
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
