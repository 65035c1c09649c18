package report

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	"cardtill/store"
)

const crashEnv = "CARDTILL_REPORT_CRASH_CHILD"

// crashChild journals as fast as it can into the journal at path: it opens
// a shift if none is open, creates redemptions and moves them to every
// final state, closes and reopens shifts, and prints one line per commit.
// The parent kills it with SIGKILL.
func crashChild(path string) {
	db, err := store.Open(path, store.Options{Terminal: "till-01", LockTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	w := bufio.NewWriter(os.Stdout)
	say := func() { w.WriteString("c\n"); w.Flush() }
	for i := 0; ; i++ {
		s, ok, err := db.CurrentShift("till-01")
		if err != nil {
			os.Exit(4)
		}
		if !ok {
			if s, err = db.OpenShift("till-01", "child"); err != nil {
				os.Exit(5)
			}
		}
		code := strconv.FormatInt(time.Now().UnixNano(), 10) + strconv.Itoa(i)
		r, err := db.Create(store.Redemption{Code: code, CardID: "card" + strconv.Itoa(i%3), ShiftID: s.ID, Cashier: "child", State: store.Queued}, "child", store.Path(store.Queued)...)
		if err != nil {
			os.Exit(6)
		}
		say()
		final := []store.State{store.Consumed, store.Conflict, store.Rejected}[i%3]
		if i%4 != 3 {
			if _, err := db.Transition(r.ID, store.Queued, store.Consuming, store.Change{By: "child"}); err != nil {
				os.Exit(7)
			}
			say()
			if _, err := db.Transition(r.ID, store.Consuming, final, store.Change{By: "child", Reason: "already_used"}); err != nil {
				os.Exit(8)
			}
			say()
		}
		if i%25 == 24 {
			if _, err := db.CloseShift(s.ID); err != nil {
				os.Exit(9)
			}
			say()
		}
	}
}

// TestCountersEqualRecountAfterCrash kills a journaling child with SIGKILL
// several times; after each kill, every shift's counters (and so its
// report) equal a recount from its records, and the file passes check.
func TestCountersEqualRecountAfterCrash(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("crash test spawns child processes")
	}
	path := filepath.Join(t.TempDir(), "journal.db")
	kills := 3
	if os.Getenv("CARDTILL_SOAK") != "" {
		kills = 30
	}
	for k := 0; k < kills; k++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		want := 50 + 37*k
		for n := 0; n < want && sc.Scan(); n++ {
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()

		c := &clock{t: time.Now()}
		db := openDB(t, path, c)
		if err := db.Check(); err != nil {
			t.Fatalf("kill %d: db check: %v", k, err)
		}
		shifts, err := db.Shifts(0)
		if err != nil {
			t.Fatal(err)
		}
		if len(shifts) == 0 {
			t.Fatalf("kill %d: no shift journaled", k)
		}
		for _, s := range shifts {
			live, err := db.ShiftCounters(s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := nonzero(live.ByOutcome), recount(t, db, s.ID); !reflect.DeepEqual(got, want) {
				t.Fatalf("kill %d shift %d: counters %v, recount %v", k, s.ID, got, want)
			}
			r, err := Build(db, s.ID, BuildOptions{})
			if err != nil {
				t.Fatal(err)
			}
			o := r.Outcomes
			if s.Open() && o.ConsumedOnline+o.OfflineConsumed+o.Conflict+o.Refused+o.Pending != r.Total {
				t.Fatalf("kill %d shift %d: outcomes %+v do not add up to %d", k, s.ID, o, r.Total)
			}
			if len(r.Conflicts) != live.ByOutcome[store.OutcomeConflict] {
				t.Fatalf("kill %d shift %d: %d conflicts listed, %d counted", k, s.ID, len(r.Conflicts), live.ByOutcome[store.OutcomeConflict])
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
