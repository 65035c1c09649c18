package doctor

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/internal/pgtest"
)

// doctor --hub checks the database: reachable, migrated (it never
// migrates), writable; a bad URL or a closed port says what to do, never
// the password.
func TestDoctorHubDatabase(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	cfg := config.Default()
	cfg.Hub.DatabaseURL = dbURL
	if f := doctorFor(cfg).checkHubDatabase(context.Background())[0]; f.Status != Fail || !strings.Contains(f.Fix, "start 'cardtill hub'") {
		t.Errorf("empty database: %+v", f)
	}
	st, err := hub.OpenPG(context.Background(), dbURL, hub.PGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if f := doctorFor(cfg).checkHubDatabase(context.Background())[0]; f.Status != OK || !strings.Contains(f.Detail, "writable") {
		t.Errorf("migrated database: %+v", f)
	}
	cfg.Hub.DatabaseURL = "postgres://hub:hunter2@127.0.0.1:1/hub?sslmode=disable&connect_timeout=2"
	if f := doctorFor(cfg).checkHubDatabase(context.Background())[0]; f.Status != Fail || f.Fix == "" || strings.Contains(f.Detail+f.Fix, "hunter2") {
		t.Errorf("unreachable: %+v", f)
	}
	cfg.Hub.DatabaseURL = "mysql://hub:hunter2@db/hub"
	if f := doctorFor(cfg).checkHubDatabase(context.Background())[0]; f.Status != Fail || !strings.Contains(f.Detail, "hub.database_url") || strings.Contains(f.Detail, "hunter2") {
		t.Errorf("bad URL: %+v", f)
	}
}

// doctor --hub names a write transaction left open on the database's
// cluster (it holds back every till's feed) with its pid, state and how
// to end it, and says nothing of it once it ended or while it is younger
// than the limit.
//
// Its open transaction would hold back the feed of the hub's tests running
// beside it on the same cluster, so with CARDTILL_PG_SHARED (every package
// at once) it skips, and .ci/run runs it in the hub's step.
func TestDoctorHubFeedLongWriter(t *testing.T) {
	t.Parallel()
	if os.Getenv("CARDTILL_PG_SHARED") != "" {
		t.Skip("skipped: CARDTILL_PG_SHARED is set (its open transaction would hold back the feed of the hub's tests sharing the cluster; .ci/run runs it in the hub's step)")
	}
	dbURL := pgtest.URL(t)
	st, err := hub.OpenPG(context.Background(), dbURL, hub.PGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	cfg := config.Default()
	cfg.Hub.DatabaseURL = dbURL
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var pid int
	if err := conn.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, "SELECT pg_current_xact_id()"); err != nil { // it has an xid, as a write would give it
		t.Fatal(err)
	}
	d := doctorFor(cfg)
	d.longWriter = time.Nanosecond
	fs := d.checkHubDatabase(ctx)
	if len(fs) != 2 || fs[0].Status != OK {
		t.Fatalf("findings %+v", fs)
	}
	f := fs[1]
	if f.Name != "hub feed" || f.Status != Warn || !strings.Contains(f.Detail, fmt.Sprintf("pid %d ", pid)) || !strings.Contains(f.Detail, "idle in transaction") ||
		!strings.Contains(f.Fix, fmt.Sprintf("pg_terminate_backend(%d)", pid)) {
		t.Errorf("open write transaction: %+v", f)
	}
	if strings.Contains(f.Detail+f.Fix, "password") || strings.Contains(f.Detail+f.Fix, dbURL) {
		t.Errorf("the finding shows the database URL: %+v", f)
	}
	d.longWriter = 0 // the minute: younger transactions are not named
	if f := d.checkHubDatabase(ctx)[1]; strings.Contains(f.Detail, fmt.Sprintf("pid %d ", pid)) {
		t.Errorf("a transaction open for less than a minute named: %+v", f)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	d.longWriter = time.Nanosecond
	if f := d.checkHubDatabase(ctx)[1]; strings.Contains(f.Detail, fmt.Sprintf("pid %d ", pid)) {
		t.Errorf("an ended transaction named: %+v", f)
	}
}
