package store

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	stdsync "sync"
	"syscall"
	"testing"
	"time"
)

const crashEnv = "STORE_CRASH_CHILD"

var crashPath = []State{Received, Checked, Consuming, Consumed}

// TestCrashChild is the child of TestCrashKill: it journals as fast as it
// can and prints "id state" after every commit. It does nothing unless
// started by TestCrashKill.
func TestCrashChild(t *testing.T) {
	t.Parallel()
	path := os.Getenv(crashEnv)
	if path == "" {
		t.Skip("child of TestCrashKill only")
	}
	db, err := Open(path, Options{LockTimeout: 5 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	sh, ok, err := db.CurrentShift("T")
	if err == nil && !ok {
		sh, err = db.OpenShift("T", "crash")
	}
	if err != nil {
		os.Exit(3)
	}
	var mu stdsync.Mutex
	report := func(id uint64, s State) {
		mu.Lock()
		fmt.Fprintf(os.Stdout, "%d %s\n", id, s)
		mu.Unlock()
	}
	var wg stdsync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				code := fmt.Sprintf("%d-%d-%d", os.Getpid(), w, i)
				r, err := db.Create(Redemption{Code: code, CardID: "pC", ShiftID: sh.ID, State: Received, Cashier: "crash"}, "crash", Path(Received)...)
				if err != nil {
					os.Exit(4)
				}
				report(r.ID, Received)
				for k := 1; k < len(crashPath); k++ {
					tr := db.Transition
					if w%2 == 1 {
						tr = db.TransitionBatch
					}
					if _, err := tr(r.ID, crashPath[k-1], crashPath[k], Change{By: "crash"}); err != nil {
						os.Exit(5)
					}
					report(r.ID, crashPath[k])
				}
			}
		}()
	}
	wg.Wait()
}

// TestCrashKill SIGKILLs a child that journals as fast as it can, at
// random moments, many times (STORE_CRASH_KILLS, default 20): every
// transition the child reported committed is in the journal after reopen,
// Check passes, and the counters agree with the records.
func TestCrashKill(t *testing.T) {
	t.Parallel()
	if os.Getenv(crashEnv) != "" {
		t.Skip("in the child")
	}
	kills := 20
	if s := os.Getenv("STORE_CRASH_KILLS"); s != "" {
		kills, _ = strconv.Atoi(s)
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	committed := map[uint64]int{} // id -> index in crashPath
	rank := map[State]int{}
	for i, s := range crashPath {
		rank[s] = i
	}
	for k := 0; k < kills; k++ {
		cmd, out, stderr := startChild(t, "TestCrashChild", crashEnv+"="+path)
		sc := bufio.NewScanner(out)
		killAfter := 1 + rng.IntN(300)
		n := 0
		killed := false
		for sc.Scan() {
			var id uint64
			var s string
			if _, err := fmt.Sscanf(sc.Text(), "%d %s", &id, &s); err != nil {
				t.Fatalf("child said %q", sc.Text())
			}
			if r := rank[State(s)]; r >= committed[id] {
				committed[id] = r
			}
			n++
			if n == killAfter && !killed {
				cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		}
		err := cmd.Wait()
		if !killed {
			t.Fatalf("child ended by itself: %v\n%s", err, stderr.String())
		}
		db, err := Open(path, Options{LockTimeout: 5 * time.Second})
		if err != nil {
			t.Fatalf("kill %d: reopen: %v", k, err)
		}
		for id, want := range committed {
			r, err := db.Get(id)
			if err != nil {
				t.Fatalf("kill %d: redemption %d reported committed is gone: %v", k, id, err)
			}
			if rank[r.State] < want || len(r.History) != rank[r.State]+1 {
				t.Fatalf("kill %d: redemption %d is %s with %d history entries, child reported %s", k, id, r.State, len(r.History), crashPath[want])
			}
		}
		if err := db.Check(); err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		db.Close()
	}
	t.Logf("%d kills, %d redemptions reported", kills, len(committed))
}
