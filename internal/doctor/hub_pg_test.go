package doctor

import (
	"context"
	"strings"
	"testing"

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
	if f := doctorFor(cfg).checkHubDatabase(context.Background()); f.Status != Fail || !strings.Contains(f.Fix, "start 'cardtill hub'") {
		t.Errorf("empty database: %+v", f)
	}
	st, err := hub.OpenPG(context.Background(), dbURL, hub.PGOptions{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	if f := doctorFor(cfg).checkHubDatabase(context.Background()); f.Status != OK || !strings.Contains(f.Detail, "writable") {
		t.Errorf("migrated database: %+v", f)
	}
	cfg.Hub.DatabaseURL = "postgres://hub:hunter2@127.0.0.1:1/hub?sslmode=disable&connect_timeout=2"
	if f := doctorFor(cfg).checkHubDatabase(context.Background()); f.Status != Fail || f.Fix == "" || strings.Contains(f.Detail+f.Fix, "hunter2") {
		t.Errorf("unreachable: %+v", f)
	}
	cfg.Hub.DatabaseURL = "mysql://hub:hunter2@db/hub"
	if f := doctorFor(cfg).checkHubDatabase(context.Background()); f.Status != Fail || !strings.Contains(f.Detail, "hub.database_url") || strings.Contains(f.Detail, "hunter2") {
		t.Errorf("bad URL: %+v", f)
	}
}
