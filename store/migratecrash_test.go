package store

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const (
	migrateChildEnv = "STORE_MIGRATE_CHILD" // the journal the child opens
	migrateKillEnv  = "STORE_MIGRATE_KILL"  // step#n: SIGKILL itself the nth time it reaches step; race:step#n: say so and go on
)

// TestMigrateCrashChild is the child of TestMigrateCrash: it opens the
// journal read-write (backup, migration), then moves the queued
// redemption if it is still queued, printing "step name n" at every step it reaches (see
// testHookMigrate) and at "opened" and "wrote". At the step named by
// STORE_MIGRATE_KILL it sends itself SIGKILL. It does nothing unless
// started by TestMigrateCrash.
func TestMigrateCrashChild(t *testing.T) {
	path := os.Getenv(migrateChildEnv)
	if path == "" {
		t.Skip("child of TestMigrateCrash only")
	}
	kill := os.Getenv(migrateKillEnv)
	race := strings.HasPrefix(kill, "race:")
	kill = strings.TrimPrefix(kill, "race:")
	seen := map[string]int{}
	step := func(name string) {
		seen[name]++
		at := fmt.Sprintf("%s#%d", name, seen[name])
		fmt.Fprintf(os.Stdout, "step %s %d\n", name, seen[name]) // os.Stdout is not buffered
		if at == kill && !race {
			if self, err := os.FindProcess(os.Getpid()); err == nil {
				_ = self.Kill() // SIGKILL on Unix
			}
			select {}
		}
	}
	testHookMigrate = step
	db, err := Open(path, Options{LockTimeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	step("opened")
	q, err := db.Find(Query{Index: ByState, State: Queued, Limit: 1})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(4)
	}
	if len(q) == 1 { // an earlier child may have moved it
		if _, err := db.Transition(q[0].ID, Queued, Consuming, Change{By: "drain"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(5)
		}
		step("wrote")
	}
	if err := db.Close(); err != nil {
		os.Exit(6)
	}
}

// childRun is what one child did.
type childRun struct {
	steps  []string // name#n, in order
	killed bool     // by SIGKILL
}

// runMigrateChild runs TestMigrateCrashChild on path with kill (see
// migrateKillEnv). With race, the parent sends the SIGKILL when the child
// says it reached the step, while the child goes on (into the commit).
func runMigrateChild(t *testing.T, path, kill string) childRun {
	t.Helper()
	cmd, out, stderr := startChild(t, "TestMigrateCrashChild", migrateChildEnv+"="+path, migrateKillEnv+"="+kill)
	var run childRun
	race := strings.TrimPrefix(kill, "race:")
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		var name string
		var n int
		if _, err := fmt.Sscanf(sc.Text(), "step %s %d", &name, &n); err != nil {
			continue // the test framework's own lines
		}
		at := fmt.Sprintf("%s#%d", name, n)
		run.steps = append(run.steps, at)
		if strings.HasPrefix(kill, "race:") && at == race {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	_, _ = io.Copy(io.Discard, out)
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			run.killed = true
		}
	}
	if !run.killed && err != nil {
		t.Fatalf("child (kill %s): %v\n%s", kill, err, stderr.String())
	}
	return run
}

func (r childRun) reached(step string) bool {
	for _, s := range r.steps {
		if s == step {
			return true
		}
	}
	return false
}

// TestMigrateCrash SIGKILLs a process migrating a copy of the schema-5
// fixture at every step of its backup and migration: before the backup,
// after each write of the copy, after its fsync, after its rename, after
// the folder's fsync, inside the migration's transaction (after each
// migration, before its commit), after the commit, after the open and
// after the first write; then once more, at the commit, in the open that
// follows (a second kill finds the first one's backup or temporary file);
// and a few times with the kill sent by this process when the child
// starts its commit (the kill lands in bbolt's commit or just after).
// After every kill the journal opens read-only as schema 5 exactly as the
// fixture was, or as SchemaVersion with its backup beside it, never
// anything else, and Check passes; a backup, if there is one, is the whole
// schema-5 file; a read-write open then completes the migration, leaves
// no temporary file, and Check passes.
func TestMigrateCrash(t *testing.T) {
	t.Parallel()
	if os.Getenv(migrateChildEnv) != "" {
		t.Skip("in the child")
	}
	orig := dumpFile(t, fixtureJournal(t, t.TempDir()))

	// Which steps there are, and how often each is reached.
	survey := runMigrateChild(t, fixtureJournal(t, t.TempDir()), "")
	for _, want := range []string{"backup-start#1", "backup-write#2", "backup-synced#1", "backup-renamed#1", "backup-done#1",
		"migrate-step#1", "migrate-commit#1", "migrated#1", "opened#1", "wrote#1"} {
		if !survey.reached(want) {
			t.Fatalf("the child never reached %s: %v", want, survey.steps)
		}
	}
	if survey.killed || survey.reached("backup-kept#1") {
		t.Fatalf("survey: %+v", survey)
	}

	check := func(path, when string) {
		t.Helper()
		bak := MigrationBackupPath(path, 5)
		for _, n := range dirNames(t, filepath.Dir(path)) {
			if n != "journal.db" && n != "journal.db.schema5.bak" && n != "journal.db.schema5.bak.tmp" {
				t.Fatalf("%s: %s beside the journal", when, n)
			}
		}
		_, err := os.Stat(bak)
		hasBak := err == nil
		ro, err := Open(path, Options{ReadOnly: true, LockTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("%s: read-only open: %v", when, err)
		}
		v, err := ro.SchemaVersion()
		if err == nil {
			err = ro.Check()
		}
		ro.Close()
		if err != nil {
			t.Fatalf("%s: schema %d: %v", when, v, err)
		}
		switch v {
		case 5:
			if d := sameDump(orig, dumpFile(t, path)); d != "" {
				t.Fatalf("%s: schema 5 but not the fixture: %s", when, d)
			}
		case SchemaVersion:
			if !hasBak {
				t.Fatalf("%s: migrated without a backup", when)
			}
		default:
			t.Fatalf("%s: schema %d", when, v)
		}
		if hasBak {
			checkReadOnly(t, bak, 5)
			if d := sameDump(orig, dumpFile(t, bak)); d != "" {
				t.Fatalf("%s: the backup is not the whole schema-5 journal: %s", when, d)
			}
		}
	}
	finish := func(path, when string) {
		t.Helper()
		db, err := Open(path, Options{LockTimeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("%s: read-write open: %v", when, err)
		}
		db.Close()
		check(path, when+", then a read-write open")
		if _, err := os.Stat(MigrationBackupPath(path, 5) + ".tmp"); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: the temporary file is left: %v", when, err)
		}
		checkReadOnly(t, path, SchemaVersion)
	}

	kills := 0
	for _, at := range survey.steps {
		path := fixtureJournal(t, t.TempDir())
		r := runMigrateChild(t, path, at)
		if !r.killed || r.steps[len(r.steps)-1] != at {
			t.Fatalf("kill at %s: killed %v after %v", at, r.killed, r.steps)
		}
		kills++
		when := "killed at " + at
		check(path, when)
		// A second kill, at the commit of the next open, if it gets there.
		_, err := os.Stat(MigrationBackupPath(path, 5))
		hadBak := err == nil
		r2 := runMigrateChild(t, path, "migrate-commit#1")
		if r2.killed {
			kills++
			if hadBak != r2.reached("backup-kept#1") || hadBak == r2.reached("backup-write#1") {
				t.Fatalf("%s, then at the commit: a backup there before: %v, but the second open did %v", when, hadBak, r2.steps)
			}
		} else if r2.reached("backup-start#1") {
			t.Fatalf("%s: the next open did not reach its commit: %v", when, r2.steps)
		}
		when += ", then at the commit"
		check(path, when)
		finish(path, when)
	}
	races := 5
	if s := os.Getenv("STORE_CRASH_KILLS"); s != "" {
		races, _ = strconv.Atoi(s)
	}
	landed := 0
	for i := range races {
		path := fixtureJournal(t, t.TempDir())
		r := runMigrateChild(t, path, "race:migrate-commit#1")
		when := fmt.Sprintf("killed during the commit (%d)", i)
		if r.killed {
			kills++
			if !r.reached("migrated#1") {
				landed++ // before the commit returned
			}
		}
		check(path, when)
		finish(path, when)
	}
	t.Logf("%d kills at %d steps (%s); %d of %d sent during the commit landed before it returned", kills, len(survey.steps), strings.Join(survey.steps, " "), landed, races)
}

// startChild starts this test binary running only the test named, with
// env added to the environment: its stdout to read, its stderr kept.
func startChild(t *testing.T, test string, env ...string) (*exec.Cmd, io.ReadCloser, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out, stderr
}
