//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	stdsync "sync"
	"syscall"
	"testing"
	"time"

	"cardtill/internal/control"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"cardtill/hub"
	"cardtill/internal/config"
	"cardtill/internal/powercut"
	"cardtill/store"
	"cardtill/wechat"
	"cardtill/wechat/wechattest"
)

// The power-cut tests run the real binary on a file system that forgets
// what was not synced (internal/powercut), pull the plug at random moments
// and check that nothing the till or the hub acknowledged is lost. They
// share one build; each subtest is one operation on a mount of its own (a
// cut unmounts the whole mount), so the subtests run in parallel.
//
// CARDTILL_POWERCUT_SEED replays the random choices (kill delays, kept
// prefixes) of a run, printed at its start; the moments still depend on
// timing. Each subtest draws from its own stream of that seed, so one
// replays alone too (-run 'TestPowerCut/hub'). CARDTILL_POWERCUT_SCALE
// multiplies the number of cuts (1 by default; CI runs the default).
//
// A new operation gets a subtest like compact or migrate: seed a journal
// (tillWorld.seed), run the command under pcRig.runKilled, cut, check
// with tillWorld.cutAndCheck and compare pcRig.byID before and after.

type pcRig struct {
	t    *testing.T
	pc   *powercut.FS
	bin  string
	seed uint64
	rng  *rand.Rand
	cuts *pcCuts
	// env is added to every command's environment.
	env []string
}

// pcCuts counts the cuts by operation over every subtest.
type pcCuts struct {
	mu stdsync.Mutex
	n  map[string]int
}

func (c *pcCuts) add(op string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[op]++
}

func pcScale() int {
	if s := os.Getenv("CARDTILL_POWERCUT_SCALE"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n > 0 {
			return n
		}
	}
	return 1
}

func TestPowerCut(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the real binary and cuts the power under it")
	}
	if os.Getenv("CARDTILL_POWERCUT_DONE") != "" {
		t.Skip("skipped: CARDTILL_POWERCUT_DONE is set (.ci/run ran TestPowerCut in its power-cut step, without -race)")
	}
	if r := powercut.Reason(); r != "" && os.Getenv("CI") == "" {
		t.Skipf("skipped: %s", r) // before the build; powercut.Mount fails under CI
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CARDTILL_POWERCUT_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (replay the choices with CARDTILL_POWERCUT_SEED=%d)", seed, seed)
	bin := cardtillBinary(t)
	r := &pcRig{t: t, bin: bin, seed: seed, cuts: &pcCuts{n: map[string]int{}}}
	t.Cleanup(func() { // after every subtest
		var ops []string
		total := 0
		for op, n := range r.cuts.n {
			ops = append(ops, fmt.Sprintf("%s %d", op, n))
			total += n
		}
		sort.Strings(ops)
		t.Logf("%d power cuts: %s", total, strings.Join(ops, ", "))
	})
	n := pcScale()
	for i, op := range []struct {
		name string
		run  func(r *pcRig)
	}{
		{"till", func(r *pcRig) { r.tillLoop(6 * n) }},
		{"compact", func(r *pcRig) { r.compact(30 * n) }},
		{"backup", func(r *pcRig) { r.backup(20 * n) }},
		{"retention", func(r *pcRig) { r.retention(25 * n) }},
		{"shift-close", func(r *pcRig) { r.shiftClose(25 * n) }},
		{"hub", func(r *pcRig) { r.hubPushes(30 * n) }},
		{"migrate", func(r *pcRig) { r.migrate(20 * n) }},
	} {
		t.Run(op.name, func(t *testing.T) {
			t.Parallel()
			op.run(r.with(t, uint64(i)))
		})
	}
}

// with is the rig for subtest t: a mount of its own and the seed's stream
// number stream.
func (r *pcRig) with(t *testing.T, stream uint64) *pcRig {
	c := *r
	c.t = t
	c.env = nil
	c.pc = powercut.Mount(t)
	c.rng = rand.New(rand.NewPCG(r.seed, 22+stream))
	return &c
}

// dir makes a durable folder on the mount for one subtest.
func (r *pcRig) dir(name string) string {
	r.t.Helper()
	d := filepath.Join(r.pc.Dir, name)
	if err := os.Mkdir(d, 0o700); err != nil {
		r.t.Fatal(err)
	}
	f, err := os.Open(r.pc.Dir)
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		r.t.Fatal(err)
	}
	return d
}

// result is how a command run under runKilled ended.
type result struct {
	killed bool
	code   int
	out    string // stdout
	errout string
}

// runKilled runs the binary and kills it with SIGKILL after the delay
// unless it exits first. after <= 0 lets it finish.
func (r *pcRig) runKilled(after time.Duration, args ...string) result {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Env = append(os.Environ(), r.env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	res := result{}
	if after > 0 {
		timer := time.NewTimer(after)
		select {
		case <-exited:
			timer.Stop()
		case <-timer.C:
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			res.killed = true
		}
	} else {
		<-exited
	}
	res.code = cmd.ProcessState.ExitCode()
	res.out, res.errout = out.String(), errb.String()
	return res
}

// cut pulls the plug for operation op (every process on the mount is
// gone), keeping a random prefix of the unsynced writes half the time.
func (r *pcRig) cut(op string) powercut.CutStats {
	r.t.Helper()
	st, err := r.pc.Cut(powercut.CutOptions{KeepPrefix: r.rng.IntN(2) == 0, Rand: r.rng})
	if err != nil {
		r.t.Fatal(err)
	}
	r.cuts.add(op)
	return st
}

// delay is a random kill delay in [0, max).
func (r *pcRig) delay(max time.Duration) time.Duration {
	return time.Duration(r.rng.Int64N(int64(max))) + time.Millisecond
}

// dbCheck runs `cardtill db check` and fails the test unless it passes.
func (r *pcRig) dbCheck(cfg, when string) {
	r.t.Helper()
	res := r.runKilled(0, "db", "check", "--config", cfg)
	if res.code != 0 {
		r.t.Fatalf("%s: db check: exit %d\n%s%s", when, res.code, res.out, res.errout)
	}
}

// states reads every redemption's state by code from the journal
// (read-only, closed again before the next cut).
func (r *pcRig) states(path string) map[string][]store.State {
	r.t.Helper()
	db, err := store.Open(path, store.Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		r.t.Fatalf("the journal does not open after the cut: %v", err)
	}
	defer db.Close()
	m := map[string][]store.State{}
	for _, s := range store.AllStates {
		rs, err := db.Find(store.Query{Index: store.ByState, State: s})
		if err != nil {
			r.t.Fatal(err)
		}
		for _, x := range rs {
			m[x.Code] = append(m[x.Code], x.State)
		}
	}
	return m
}

func hasState(have []store.State, want ...store.State) bool {
	for _, h := range have {
		for _, w := range want {
			if h == w {
				return true
			}
		}
	}
	return false
}

// redeemAnswer is the part of `redeem --json` the checks need.
type redeemAnswer struct {
	Code   string `json:"code"`
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// proc is a long-running binary (sync, hub) killed at the cut.
type proc struct {
	cmd    *exec.Cmd
	exited chan struct{}
	stderr *lockedBuffer
}

func (r *pcRig) start(args ...string) *proc {
	r.t.Helper()
	cmd := exec.Command(r.bin, args...)
	cmd.Env = append(os.Environ(), r.env...)
	p := &proc{cmd: cmd, exited: make(chan struct{}), stderr: &lockedBuffer{}}
	cmd.Stdout, cmd.Stderr = p.stderr, p.stderr
	if err := cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	go func() { _ = cmd.Wait(); close(p.exited) }()
	return p
}

func (p *proc) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// waitFor waits (up to 10 s, checking every 5 ms) until ready says yes;
// false when p exited first. For what has no event to wait on (a child's
// control socket answering); what p writes, lockedBuffer.waitFor waits for.
func (p *proc) waitFor(ready func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !ready() {
		select {
		case <-p.exited:
			return false
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// tillWorld is one till's journal on the mount, its fake WeChat and what
// the till acknowledged, with the checks every cut must pass.
type tillWorld struct {
	r         *pcRig
	path, cfg string
	srv       *wechattest.Server
	answered  map[string]string // code -> state the answer gave (consumed, queued)
	codes     []string          // every code the fake knows
}

func (r *pcRig) newTill(name string) *tillWorld {
	w := &tillWorld{r: r, path: filepath.Join(r.dir(name), "journal.db"), answered: map[string]string{}}
	w.srv, w.cfg = fakeTillAt(r.t, w.path)
	// A short quiet period so that in-doubt consumes come due quickly
	// (drain waits it out); it must be longer than the timeouts. The fake
	// answers in 5 ms and an outage drops at once, so no timeout is meant
	// to pass: 1 s, not 150 ms, lest a loaded machine (the subtests run in
	// parallel) turn an answered redeem into an in-doubt one.
	r.env = append(r.env, "CARDTILL_WECHAT_TIMEOUT=1s", "CARDTILL_WECHAT_SYNC_TIMEOUT=1s", "CARDTILL_SYNC_QUIET_PERIOD=1200ms")
	for _, ep := range []wechattest.Endpoint{wechattest.EndpointGetCode, wechattest.EndpointConsume} {
		w.srv.Inject(ep, wechattest.Fault{Latency: 5 * time.Millisecond, Persistent: true})
	}
	return w
}

func (w *tillWorld) addCode(code string) {
	w.srv.AddCode(wechattest.Code{Code: code, CardID: "pCard"})
	w.codes = append(w.codes, code)
}

// seed journals queued codes (accepted offline: acknowledged) and, with
// finishedAt set, consumed ones that finished then, through the store on
// the mount; all of it is synced when seed returns.
func (w *tillWorld) seed(prefix string, queued, consumed int, finishedAt time.Time) {
	t := w.r.t
	t.Helper()
	o := store.Options{Terminal: "till-2", Logger: slog.New(slog.DiscardHandler)}
	if !finishedAt.IsZero() {
		o.Now = func() time.Time { return finishedAt }
	}
	db, err := store.Open(w.path, o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sh, ok, err := db.CurrentShift("till-2")
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		if sh, err = db.OpenShift("till-2", "Wang Fang"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range queued + consumed {
		code := fmt.Sprintf("%s%08d", prefix, i)
		r := store.Redemption{Code: code, CardID: "pCard", State: store.Queued, ShiftID: sh.ID, Cashier: "Wang Fang", Terminal: "till-2", DueAt: time.Now()}
		if i >= queued {
			r.State = store.Consumed
		} else {
			w.addCode(code)
			w.answered[code] = "queued"
		}
		if _, err := db.Create(r, "test", store.Path(r.State)...); err != nil {
			t.Fatal(err)
		}
	}
}

// check is what must hold after every cut: the journal opens and passes
// db check; every answer given is still there; every code the fake WeChat
// consumed is consumed or on its way (consuming, in doubt: resolved by
// sync); no code is consumed twice.
func (w *tillWorld) check(when string) map[string][]store.State {
	t := w.r.t
	t.Helper()
	if len(w.answered) == 0 {
		if _, err := os.Stat(w.path); os.IsNotExist(err) {
			return nil // nothing acknowledged yet, nothing to keep
		}
		// A cut in the very first open can leave a bbolt file whose
		// schema was not yet written, which read-only opens (db check)
		// refuse (DB.init in store/db.go); the till's next start opens
		// it read-write and initialises it, as here.
		db, err := store.Open(w.path, store.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("%s: the journal does not open: %v", when, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
	w.r.dbCheck(w.cfg, when)
	st := w.r.states(w.path)
	for code, a := range w.answered {
		switch {
		case a == "consumed" && !hasState(st[code], store.Consumed):
			t.Fatalf("%s: %s was answered consumed; the journal has %v", when, code, st[code])
		case a == "queued" && !hasState(st[code], store.Queued, store.Consuming, store.InDoubt, store.Consumed):
			t.Fatalf("%s: %s was accepted offline; the journal has %v", when, code, st[code])
		}
	}
	for _, code := range w.codes {
		n := w.srv.ConsumeCount(code)
		if n > 1 {
			t.Fatalf("%s: %s consumed %d times", when, code, n)
		}
		if n == 1 && !hasState(st[code], store.Consumed, store.Consuming, store.InDoubt) {
			t.Fatalf("%s: WeChat consumed %s; the journal has %v", when, code, st[code])
		}
	}
	return st
}

// cutAndCheck cuts for op and checks the till's journal.
func (w *tillWorld) cutAndCheck(op, what string, killed bool) {
	w.r.t.Helper()
	st := w.r.cut(op)
	w.check(fmt.Sprintf("after a cut in %s %s (killed %v, %d unsynced changes, %d kept)", op, what, killed, st.Unsynced, st.Kept))
}

// redeem runs `redeem --json code`, killed after killAfter (0: not),
// and keeps the answer it gave.
func (w *tillWorld) redeem(code string, killAfter time.Duration) result {
	t := w.r.t
	t.Helper()
	res := w.r.runKilled(killAfter, "redeem", "--config", w.cfg, "--json", code)
	if !res.killed {
		var a redeemAnswer
		if err := json.Unmarshal([]byte(res.out), &a); err != nil {
			t.Fatalf("redeem %s: exit %d, not JSON: %q %s", code, res.code, res.out, res.errout)
		}
		if res.code == 0 && (a.State == "consumed" || a.State == "queued") {
			w.answered[code] = a.State
		}
	}
	return res
}

// drain runs sync until nothing is left, then checks every code WeChat
// consumed and every code honoured is consumed, once.
func (w *tillWorld) drain() {
	t := w.r.t
	t.Helper()
	for i := 0; ; i++ {
		res := w.r.runKilled(0, "sync", "--config", w.cfg, "--once", "--json")
		if res.code == 0 {
			break
		}
		if i > 20 || res.code != 1 {
			t.Fatalf("sync does not finish: exit %d\n%s%s", res.code, res.out, res.errout)
		}
		// In doubt within the quiet period: wait it out.
		untilDue(t, w.path, time.Now().Add(10*time.Second))
	}
	st := w.check("after the last sync")
	for _, code := range w.codes {
		n := w.srv.ConsumeCount(code)
		_, honoured := w.answered[code]
		switch {
		case n == 1 && !hasState(st[code], store.Consumed):
			t.Fatalf("WeChat consumed %s; after sync the journal has %v", code, st[code])
		case honoured && n != 1:
			t.Fatalf("%s was honoured (%s) but WeChat consumed it %d times; the journal has %v", code, w.answered[code], n, st[code])
		}
	}
}

// tillLoop is the till's crash loop: rounds of codes redeemed headless
// (offline: accepted and queued; online: consumed), then `cardtill sync`
// draining the queue, the binary killed and the power cut at random
// moments throughout, checked after every cut (tillWorld.check) and at
// the end (tillWorld.drain).
func (r *pcRig) tillLoop(rounds int) {
	w := r.newTill("till")
	for round := range rounds {
		for i := range 12 {
			online := i >= 8
			w.srv.SetOutage(!online) // offline: accepted and queued; online: consumed
			code := fmt.Sprintf("5%03d%08d", round, i)
			w.addCode(code)
			kill := time.Duration(0)
			if r.rng.IntN(2) == 0 {
				kill = r.delay(100 * time.Millisecond)
			}
			op := "redeem offline"
			if online {
				op = "redeem online"
			}
			if res := w.redeem(code, kill); res.killed || r.rng.IntN(4) == 0 {
				w.cutAndCheck(op, code, res.killed)
			}
		}
		w.srv.SetOutage(false)
		for range 3 {
			res := r.runKilled(r.delay(300*time.Millisecond), "sync", "--config", w.cfg, "--once", "--json")
			w.cutAndCheck("sync", fmt.Sprintf("(round %d)", round), res.killed)
		}
	}
	w.drain()
	r.t.Logf("till: %d codes, %d answered, %d consumes", len(w.codes), len(w.answered), w.srv.TotalConsumes())
}

// byID is every redemption's state by id.
func (r *pcRig) byID(path string) map[uint64]store.State {
	r.t.Helper()
	db, err := store.Open(path, store.Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		r.t.Fatalf("the journal does not open: %v", err)
	}
	defer db.Close()
	m := map[uint64]store.State{}
	for _, s := range store.AllStates {
		rs, err := db.Find(store.Query{Index: store.ByState, State: s})
		if err != nil {
			r.t.Fatal(err)
		}
		for _, x := range rs {
			m[x.ID] = x.State
		}
	}
	return m
}

// timed runs the binary to completion and says how long it took.
func (r *pcRig) timed(args ...string) time.Duration {
	r.t.Helper()
	start := time.Now()
	if res := r.runKilled(0, args...); res.code != 0 {
		r.t.Fatalf("%v: exit %d\n%s%s", args, res.code, res.out, res.errout)
	}
	return time.Since(start)
}

// compact cuts `db compact` at random moments (it rewrites the journal
// into a new file and renames it into place), now and then after a code
// was redeemed into the compacted journal: after every cut the journal is
// whole, with every redemption it had and every answer given since.
func (r *pcRig) compact(cuts int) {
	w := r.newTill("compact")
	w.seed("6000", 150, 150, time.Time{})
	want := r.byID(w.path)
	d := r.timed("db", "compact", "--config", w.cfg)
	for i := range cuts {
		kill := r.delay(d * 3 / 2)
		if r.rng.IntN(3) == 0 {
			kill = 0 // let it finish
		}
		res := r.runKilled(kill, "db", "compact", "--config", w.cfg)
		if !res.killed && res.code != 0 {
			r.t.Fatalf("db compact: exit %d\n%s%s", res.code, res.out, res.errout)
		}
		if !res.killed {
			// A code redeemed into the compacted journal: lost if its
			// new name was not durable when compact said ok.
			code := fmt.Sprintf("6100%08d", i)
			w.addCode(code)
			if res := w.redeem(code, 0); res.code != 0 {
				r.t.Fatalf("redeem after compact: exit %d\n%s%s", res.code, res.out, res.errout)
			}
		}
		w.cutAndCheck("db compact", fmt.Sprint(i), res.killed)
		got := r.byID(w.path)
		for id, s := range want {
			if got[id] != s {
				r.t.Fatalf("after a cut in db compact: redemption %d is %q, was %q", id, got[id], s)
			}
		}
		want = got
	}
}

// backup cuts hot backups: `cardtill sync` holds the journal and drains
// its queue while `db backup` asks it (through its control socket) for a
// copy; the power goes at a random moment. Every backup the command said
// it wrote is there after the cut and passes its check.
func (r *pcRig) backup(cuts int) {
	w := r.newTill("backup")
	w.seed("7000", 120, 100, time.Time{})
	bdir := r.dir("backups")
	sock := control.SocketPath(w.path)
	var acked []string
	var d time.Duration
	for i := range cuts {
		p := r.start("sync", "--config", w.cfg)
		if !p.waitFor(func() bool {
			c, err := control.Dial(context.Background(), sock)
			if err == nil {
				c.Close()
			}
			return err == nil
		}) {
			p.kill()
			r.t.Fatalf("sync did not answer on %s: %s", sock, p.stderr.String())
		}
		dst := filepath.Join(bdir, fmt.Sprintf("b-%03d.db", i))
		kill := time.Duration(0)
		if d > 0 && r.rng.IntN(4) != 0 {
			kill = r.delay(d * 3 / 2)
		}
		start := time.Now()
		res := r.runKilled(kill, "db", "backup", "--config", w.cfg, dst)
		switch {
		case !res.killed && res.code == 0:
			if !strings.Contains(res.out, "by the running cardtill") {
				r.t.Fatalf("the backup was not hot: %s", res.out)
			}
			acked = append(acked, dst)
			if d == 0 {
				d = time.Since(start)
			}
		case !res.killed:
			p.kill()
			r.t.Fatalf("db backup: exit %d\n%s%s\nthe running cardtill said:\n%s", res.code, res.out, res.errout, p.stderr.String())
		}
		if r.rng.IntN(2) == 0 {
			// cut while the till drains, a moment after the backup
			<-time.After(r.delay(50 * time.Millisecond))
		}
		p.kill()
		w.cutAndCheck("db backup", filepath.Base(dst), res.killed)
		for _, b := range acked {
			db, err := store.Open(b, store.Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				r.t.Fatalf("after a cut in db backup: the backup %s it wrote: %v", filepath.Base(b), err)
			}
			err = db.Check()
			db.Close()
			if err != nil {
				r.t.Fatalf("after a cut in db backup: the backup %s fails its check: %v", filepath.Base(b), err)
			}
		}
	}
	w.drain()
	r.t.Logf("backup: %d hot backups acknowledged, all kept", len(acked))
}

// retention cuts the pruning of finished redemptions past retain_days
// (it runs when the till starts): the counters still add up (db check:
// counters = recount + pruned) and nothing unfinished or recent goes.
// The first run is cut when it logs the pruning done, which times it (d);
// the others at a random moment within 1.5 d of their start.
func (r *pcRig) retention(cuts int) {
	w := r.newTill("retention")
	w.seed("8001", 60, 0, time.Time{}) // accepted offline now
	r.env = append(r.env, "CARDTILL_STORE_RETAIN_DAYS=1", "CARDTILL_LOG_FILE=-")
	w.srv.SetOutage(true) // the queue stays: only the pruning writes
	prunedRE := regexp.MustCompile(`msg="pruned finished redemptions`)
	seeded, pruned := 0, 0
	var d time.Duration
	for i := range cuts {
		if i%3 == 0 { // more finished 10 days ago, for the next runs to prune
			w.seed(fmt.Sprintf("8%03d", 100+i), 0, 300, time.Now().AddDate(0, 0, -10))
			seeded += 300
		}
		before := len(r.byID(w.path))
		start := time.Now()
		p := r.start("sync", "--config", w.cfg)
		if d == 0 {
			if p.stderr.waitFor(prunedRE, p.exited) == nil {
				p.kill()
				r.t.Fatalf("sync did not prune: %s", p.stderr.String())
			}
			d = time.Since(start)
		} else {
			select {
			case <-p.exited:
				r.t.Fatalf("sync exited: %s", p.stderr.String())
			case <-time.After(r.delay(d * 3 / 2)):
			}
		}
		p.kill()
		w.cutAndCheck("retention", fmt.Sprint(i), true)
		pruned += before - len(r.byID(w.path))
	}
	r.t.Logf("retention: %d old redemptions seeded, %d pruned and kept pruned (the first pruning took %v)", seeded, pruned, d)
	if pruned == 0 {
		r.t.Fatalf("retention pruned nothing in %d runs", cuts)
	}
	w.srv.SetOutage(false)
	w.drain()
}

// shiftClose cuts `shift close`: a close the command reported is still a
// closed shift after the cut, and the journal checks.
func (r *pcRig) shiftClose(cuts int) {
	w := r.newTill("shift")
	closed := map[uint64]bool{}
	closedRE := regexp.MustCompile(`shift #(\d+) closed`)
	var d time.Duration
	for i := range cuts {
		code := fmt.Sprintf("9000%08d", i)
		w.addCode(code)
		if res := w.redeem(code, 0); res.code != 0 {
			r.t.Fatalf("redeem: exit %d\n%s%s", res.code, res.out, res.errout)
		}
		kill := time.Duration(0)
		if d > 0 && r.rng.IntN(4) != 0 {
			kill = r.delay(d * 3 / 2)
		}
		start := time.Now()
		res := r.runKilled(kill, "shift", "close", "--force", "--config", w.cfg)
		if !res.killed {
			m := closedRE.FindStringSubmatch(res.out)
			if res.code != 0 || m == nil {
				r.t.Fatalf("shift close: exit %d\n%s%s", res.code, res.out, res.errout)
			}
			id, _ := strconv.ParseUint(m[1], 10, 64)
			closed[id] = true
			if d == 0 {
				d = time.Since(start)
			}
		}
		w.cutAndCheck("shift close", fmt.Sprint(i), res.killed)
		db, err := store.Open(w.path, store.Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			r.t.Fatal(err)
		}
		for id := range closed {
			s, err := db.Shift(id)
			if err != nil || s.ClosedAt.IsZero() {
				db.Close()
				r.t.Fatalf("after a cut in shift close: shift #%d was reported closed; the journal has %+v %v", id, s, err)
			}
		}
		db.Close()
	}
	r.t.Logf("shift close: %d closes acknowledged, all kept", len(closed))
}

// hubPushes cuts the hub while WeChat pushes card events at it: every
// push the hub answered "success" is stored after the cut.
func (r *pcRig) hubPushes(cuts int) {
	t := r.t
	cfgPath, _, _ := hubSetup(t)
	storePath := filepath.Join(r.dir("hub"), "hub.db")
	r.env = append(r.env, "CARDTILL_HUB_STORE_PATH="+storePath)
	cfg, err := config.Load(cfgPath, func(k string) string {
		if k == "CARDTILL_HUB_STORE_PATH" {
			return storePath
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	codec, err := config.NewPushCodec(cfg)
	if err != nil {
		t.Fatal(err)
	}
	addrRE := regexp.MustCompile(`listening on (127\.0\.0\.1:\d+)`)
	codeRE := regexp.MustCompile(`<UserCardCode><!\[CDATA\[(\w+)\]\]>`)
	var acked []string
	seq := 0
	for i := range cuts {
		p := r.start("--config", cfgPath, "hub")
		m := p.stderr.waitFor(addrRE, p.exited)
		if m == nil {
			p.kill()
			t.Fatalf("the hub did not start: %s", p.stderr.String())
		}
		addr := m[1]
		// Four senders push until the hub goes.
		acks := make(chan string, 1024)
		done := make(chan struct{})
		var wg stdsync.WaitGroup
		for s := range 4 {
			wg.Go(func() {
				for k := 0; ; k++ {
					select {
					case <-done:
						return
					default:
					}
					code := fmt.Sprintf("h%03d%d%06d", i, s, k)
					req, err := codec.NewPushRequest(context.Background(), "http://"+addr+hub.PathPush, wechat.ModeSafe, []byte(cardEvent("user_consume_card", code, time.Now().Unix(), "")))
					if err != nil {
						t.Error(err)
						return
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return // the hub is gone
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK && string(body) == "success" {
						acks <- code
					}
				}
			})
		}
		<-time.After(r.delay(300 * time.Millisecond))
		p.kill()
		close(done)
		wg.Wait()
		close(acks)
		for c := range acks {
			acked = append(acked, c)
			seq++
		}
		st := r.cut("hub pushes")
		hs, err := hub.OpenStore(storePath, hub.StoreOptions{ReadOnly: true})
		if err != nil {
			t.Fatalf("after a cut in the hub (%d unsynced, %d kept): the hub's file: %v", st.Unsynced, st.Kept, err)
		}
		evs, err := hs.Events(time.Time{}, 0)
		if err == nil {
			err = hs.Check()
		}
		hs.Close()
		if err != nil {
			t.Fatalf("after a cut in the hub: %v", err)
		}
		stored := map[string]bool{}
		for _, e := range evs {
			if m := codeRE.FindStringSubmatch(e.Raw); m != nil {
				stored[m[1]] = true
			}
		}
		for _, c := range acked {
			if !stored[c] {
				t.Fatalf("after a cut in the hub (%d unsynced, %d kept): the push of %s was answered success but is not stored (%d of %d stored)", st.Unsynced, st.Kept, c, len(stored), len(acked))
			}
		}
	}
	t.Logf("hub: %d pushes answered success, all stored", seq)
}

// newBuckets are the buckets the migrations from schema 3 create: 3 -> 4
// (the conflict index and resolutions) and 4 -> 5 (retention's finished_at
// index and the used-code tombstones), 7 -> 8 (state_counts) and 8 -> 9
// (the live records).
var newBuckets = []string{"shift_conflicts", "conflict_resolutions", "finished_at", "used_tombstones", "tombstones_by_at", "state_counts", "live_redemptions"}

// toSchema3 makes the journal what schema 3 wrote (none of newBuckets,
// schema_version 3), in one synced bbolt commit, and syncs its folder.
func (r *pcRig) toSchema3(path string) {
	r.t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		r.t.Fatal(err)
	}
	err = b.Update(func(tx *bolt.Tx) error {
		if live := tx.Bucket([]byte("live_redemptions")); live != nil { // schema 3 kept every record in redemptions
			red := tx.Bucket([]byte("redemptions"))
			if err := live.ForEach(func(k, v []byte) error { return red.Put(bytes.Clone(k), bytes.Clone(v)) }); err != nil {
				return err
			}
			if err := red.SetSequence(live.Sequence()); err != nil {
				return err
			}
		}
		for _, name := range newBuckets {
			if err := tx.DeleteBucket([]byte(name)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
		}
		v := make([]byte, 8)
		v[7] = 3
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), v)
	})
	if cerr := b.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		r.t.Fatal(err)
	}
	f, err := os.Open(filepath.Dir(path))
	if err != nil {
		r.t.Fatal(err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		r.t.Fatal(err)
	}
}

// schemaOf reads the journal's schema version and the conflict index
// (shift_conflicts keys as redemption ids) straight from bbolt, failing
// unless the file is wholly schema 3 (none of newBuckets) or wholly the
// current schema (all of them).
func (r *pcRig) schemaOf(path, when string) (int, map[uint64]bool) {
	r.t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		r.t.Fatalf("%s: %v", when, err)
	}
	defer b.Close()
	ver := 0
	var idx map[uint64]bool
	have := 0
	err = b.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket([]byte("meta")).Get([]byte("schema_version")); len(v) == 8 {
			ver = int(v[7]) // small versions: the last byte of a big-endian uint64
		}
		for _, name := range newBuckets {
			if tx.Bucket([]byte(name)) != nil {
				have++
			}
		}
		if sc := tx.Bucket([]byte("shift_conflicts")); sc != nil {
			idx = map[uint64]bool{}
			return sc.ForEach(func(k, _ []byte) error {
				if len(k) != 16 {
					return fmt.Errorf("shift_conflicts key %x is not shift+id", k)
				}
				var id uint64
				for _, c := range k[8:] {
					id = id<<8 | uint64(c)
				}
				idx[id] = true
				return nil
			})
		}
		return nil
	})
	if err != nil {
		r.t.Fatalf("%s: %v", when, err)
	}
	switch {
	case ver == 3 && have == 0:
	case ver == store.SchemaVersion && have == len(newBuckets):
	default:
		r.t.Fatalf("%s: a mix of schemas: schema_version %d with %d of the buckets %v", when, ver, have, newBuckets)
	}
	return ver, idx
}

// migrationBackup checks that a journal found migrated after a cut has
// the backup its open made before migrating it (store/migratebackup.go):
// a whole schema-3 file beside it holding the redemptions want, in their
// states. The open syncs the backup and its folder before the migration
// starts, so no cut can keep the migration and lose the backup.
func (r *pcRig) migrationBackup(path, when string, want map[uint64]store.State) {
	r.t.Helper()
	baks, err := filepath.Glob(path + ".schema3*.bak")
	if err != nil {
		r.t.Fatal(err)
	}
	for _, bak := range baks {
		db, err := store.Open(bak, store.Options{ReadOnly: true, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			r.t.Fatalf("%s: backup %s: %v", when, bak, err)
		}
		v, err := db.SchemaVersion()
		if err == nil {
			err = db.Check()
		}
		db.Close()
		if err != nil || v != 3 {
			r.t.Fatalf("%s: backup %s: schema %d: %v", when, bak, v, err)
		}
		got := r.byID(bak)
		same := len(got) == len(want)
		for id, s := range want {
			same = same && got[id] == s
		}
		if same {
			return
		}
	}
	r.t.Fatalf("%s: migrated, but none of the backups %v is the journal before the migration", when, baks)
}

// migrate cuts the journal migrations from schema 3 (3 -> 4 -> 5, one
// bbolt transaction; they run when a command opens
// the journal writable; here the first `redeem` after the upgrade, online,
// which then journals a consumed code) at random moments: after every
// cut the journal opens and checks, it is wholly schema 3 or wholly
// the current schema (then the conflict index holds exactly the
// conflicts, and db check proves finished_at against the records), and
// every redemption is there in the state it had (and every answer the
// till gave, tillWorld.check). A migrated file is
// turned back into schema 3 before the next run.
func (r *pcRig) migrate(cuts int) {
	w := r.newTill("migrate")
	w.seed("4000", 80, 80, time.Time{})
	// Conflicts: accepted offline, then refused by WeChat.
	db, err := store.Open(w.path, store.Options{Terminal: "till-2", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		r.t.Fatal(err)
	}
	sh, _, err := db.CurrentShift("till-2")
	if err != nil {
		r.t.Fatal(err)
	}
	conflicts := map[uint64]bool{}
	for i := range 120 {
		q, err := db.Create(store.Redemption{Code: fmt.Sprintf("4100%08d", i), CardID: "pCard", State: store.Queued, ShiftID: sh.ID,
			Cashier: "Wang Fang", Terminal: "till-2", DueAt: time.Now()}, "test", store.Path(store.Queued)...)
		if err != nil {
			r.t.Fatal(err)
		}
		if _, err := db.Transition(q.ID, store.Queued, store.Conflict, store.Change{By: "drain", Errcode: 40099, Reason: "already_used",
			Update: func(x *store.Redemption) { x.Errcode, x.Reason, x.ReasonText = 40099, "already_used", "already used" }}); err != nil {
			r.t.Fatal(err)
		}
		conflicts[q.ID] = true
	}
	if err := db.Close(); err != nil {
		r.t.Fatal(err)
	}
	r.toSchema3(w.path)
	want := r.byID(w.path)
	w.addCode("420000000000")
	start := time.Now()
	if res := w.redeem("420000000000", 0); res.code != 0 {
		r.t.Fatalf("redeem: exit %d\n%s%s", res.code, res.out, res.errout)
	}
	d := time.Since(start)
	if v, _ := r.schemaOf(w.path, "after an uncut migration"); v != store.SchemaVersion {
		r.t.Fatalf("redeem did not migrate the journal: schema %d", v)
	}
	migrated := 0
	for i := range cuts {
		r.toSchema3(w.path)
		kill := r.delay(d * 3 / 2)
		if r.rng.IntN(3) == 0 {
			kill = 0 // let it finish
		}
		code := fmt.Sprintf("4200%08d", i+1)
		w.addCode(code)
		res := w.redeem(code, kill)
		if !res.killed && res.code != 0 {
			r.t.Fatalf("redeem: exit %d\n%s%s", res.code, res.out, res.errout)
		}
		when := fmt.Sprintf("after a cut in the migration %d (killed %v)", i, res.killed)
		w.cutAndCheck("migrate", fmt.Sprint(i), res.killed)
		v, idx := r.schemaOf(w.path, when)
		if !res.killed && v != store.SchemaVersion {
			r.t.Fatalf("%s: redeem answered but the journal is schema %d", when, v)
		}
		if v == store.SchemaVersion {
			migrated++
			r.migrationBackup(w.path, when, want)
			for id := range conflicts {
				if !idx[id] {
					r.t.Fatalf("%s: schema %d without conflict %d in shift_conflicts", when, v, id)
				}
			}
			if len(idx) != len(conflicts) {
				r.t.Fatalf("%s: shift_conflicts has %d entries, the journal %d conflicts", when, len(idx), len(conflicts))
			}
		}
		got := r.byID(w.path)
		for id, s := range want {
			if got[id] != s {
				r.t.Fatalf("%s: redemption %d is %q, was %q", when, id, got[id], s)
			}
		}
		want = got
	}
	r.t.Logf("migrate: %d cut runs, %d found migrated, %d still schema 3; %d redemptions (%d conflicts) kept", cuts, migrated, cuts-migrated, len(want), len(conflicts))
}
