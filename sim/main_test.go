package sim

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var (
	seedFlag  = flag.Int64("seed", -1, "replay this seed of the simulated day (go test ./sim -run Sim -seed N)")
	soakFlag  = flag.Int("soak", 0, "run this many random seeds (or CARDTILL_SOAK_SEEDS)")
	scansFlag = flag.Int("scans", 0, "scans per simulated day (default 700; 1500 when soaking)")
	concFlag  = flag.Bool("concurrent", false, "with -seed or -soak: play the days with both tills scanning and draining at once (TestSimConcurrent)")
)

// concurrentSeeds are the seeds TestSimConcurrent runs by default.
var concurrentSeeds = []uint64{3, 9}

// ciSeeds are the seeds every `go test ./sim` runs, picked for the spread
// of their offline policies: 2 accepts without bounds, 8 bounds max_age,
// 11 limits allow_cards and fills the journal up to max_size, 22 bounds
// max_per_shift and max_age, 23 refuses offline, 29 is tight on both.
var ciSeeds = []uint64{2, 8, 11, 22, 23, 29}

// Scans per day: CI's seeds and replays, and soaks.
const (
	defaultScans = 700
	soakScans    = 1500
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func scans() int {
	if *scansFlag > 0 {
		return *scansFlag
	}
	return defaultScans
}

func soakScansPerDay() int {
	if *scansFlag > 0 {
		return *scansFlag
	}
	return soakScans
}

// TestSim plays simulated trading days: the fixed CI seeds, one seed
// (-seed N), or a soak of random seeds (-soak N).
func TestSim(t *testing.T) {
	t.Parallel()
	soak := *soakFlag
	if s := os.Getenv("CARDTILL_SOAK_SEEDS"); s != "" && soak == 0 {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("CARDTILL_SOAK_SEEDS=%q: want a number of seeds", s)
		}
		soak = n
	}
	switch {
	case *seedFlag >= 0:
		runSeed(t, uint64(*seedFlag), scans())
	case soak > 0:
		var failed []uint64
		for range soak {
			seed := rand.Uint64N(1 << 40)
			if !t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { runSeed(t, seed, soakScansPerDay()) }) {
				failed = append(failed, seed)
			}
		}
		for _, s := range failed {
			t.Logf("failing seed %d: replay: go test ./sim -run Sim -seed %d -scans %d", s, s, soakScansPerDay())
		}
	default:
		for _, seed := range ciSeeds {
			t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
				t.Parallel() // a world of its own per seed
				runSeed(t, seed, scans())
			})
		}
	}
}

// TestSimReplaysExactly plays one seed twice and compares everything:
// the trace of events and answers, both journals, and the fake's counters.
func TestSimReplaysExactly(t *testing.T) {
	t.Parallel()
	if *seedFlag >= 0 || *soakFlag > 0 {
		t.Skip("replaying or soaking")
	}
	var runs [2]*world
	for i := range runs {
		t.Run(fmt.Sprint("run", i), func(t *testing.T) {
			runs[i] = newWorld(t, 7, config{scans: 400})
			runs[i].run()
			runs[i].final = runs[i].digest()
		})
	}
	a, b := runs[0], runs[1]
	if a == nil || b == nil || t.Failed() {
		return
	}
	if a.final == b.final {
		t.Logf("seed 7 replayed exactly: %d events, digest %.16s", a.trace.n, a.final)
		return
	}
	for i := range min(len(a.trace.all), len(b.trace.all)) {
		if a.trace.all[i] != b.trace.all[i] {
			t.Fatalf("seed 7 did not replay exactly; first difference at event %d:\n  %s\n  %s", i, a.trace.all[i], b.trace.all[i])
		}
	}
	t.Fatalf("seed 7 did not replay exactly: same %d/%d events, different journals or WeChat counters", len(a.trace.all), len(b.trace.all))
}

// TestSimConcurrent plays days with both tills scanning and draining at
// the same time (drain concurrency 4, both tills on the same code at once).
// The checks are those of TestSim; the interleaving is the scheduler's, so
// a failing seed may need a few runs to fail again:
// go test ./sim -run SimConcurrent -concurrent -seed N [-count 20].
func TestSimConcurrent(t *testing.T) {
	t.Parallel()
	switch {
	case (*seedFlag >= 0 || *soakFlag > 0) && !*concFlag:
		t.Skip("replaying or soaking the exact simulation (add -concurrent for this one)")
	case *seedFlag >= 0:
		runConcurrentSeed(t, uint64(*seedFlag), scans())
	case *soakFlag > 0:
		for range *soakFlag {
			seed := rand.Uint64N(1 << 40)
			t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { runConcurrentSeed(t, seed, soakScansPerDay()) })
		}
	default:
		for _, seed := range concurrentSeeds {
			t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
				t.Parallel()
				runConcurrentSeed(t, seed, 400)
			})
		}
	}
}

func runConcurrentSeed(t *testing.T, seed uint64, n int) {
	start := time.Now()
	w := newWorld(t, seed, config{scans: n, concurrent: true})
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.runConcurrent()
	}()
	<-done
	if t.Failed() {
		t.FailNow()
	}
	logSeed(t, w, start)
}

func runSeed(t *testing.T, seed uint64, n int) {
	start := time.Now()
	w := newWorld(t, seed, config{scans: n})
	w.run()
	logSeed(t, w, start)
}

func logSeed(t *testing.T, w *world, start time.Time) {
	seed := w.seed
	t.Logf("seed %d: %d scans (%d frames, %d noise, %d hang-ups, %d refused by the parser), outcomes %v, journals %v, offline refusals %v; hub %v; %d crashes, %d outages, %d link cuts, %d fault bursts, %d token expiries, %d shift closes, %d double reads, %d races at two tills, %d declined, %d abandoned, %d full checks; policy %+v; digest %.16s; %s",
		seed, w.stats.scans, w.stats.frames, w.stats.noise, w.stats.hangups, w.stats.badScans, w.stats.outcomes, w.stats.final, w.stats.offlineRefusals, w.hub != nil,
		w.stats.crashes, w.stats.outages, w.stats.linkCuts, w.stats.faults, w.stats.tokenExpiries, w.stats.shiftCloses,
		w.stats.doubleReads, w.stats.racesAtTwoTills, w.stats.declined, w.stats.abandoned, w.stats.checks, w.policy, w.digest(), time.Since(start).Round(time.Millisecond))
}
