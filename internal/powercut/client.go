//go:build linux

package powercut

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// The file system is served by a helper process, never by the test
// process itself: a process that serves a FUSE mount and also touches it
// through mmap (bbolt reads the journal through mmap) deadlocks when the
// Go runtime stops the world while one of its threads waits in a page
// fault on the mount. The helper is the test binary itself, started again
// with helperEnv set: init below then serves and exits, before any test
// runs. It takes one command a line on stdin and answers one line.
const helperEnv = "CARDTILL_POWERCUT_SERVE"

func init() {
	spec := os.Getenv(helperEnv)
	if spec == "" {
		return
	}
	base, dir, ok := strings.Cut(spec, string(filepath.ListSeparator))
	if !ok {
		fmt.Fprintln(os.Stderr, "powercut: bad", helperEnv)
		os.Exit(2)
	}
	os.Exit(serve(base, dir, os.Stdin, os.Stdout))
}

// serve runs the helper: it mounts, says "ready", then answers commands
// until stdin ends or says "quit", and unmounts.
func serve(base, dir string, in io.Reader, out io.Writer) int {
	s, err := newServer(base, dir)
	if err != nil {
		fmt.Fprintf(out, "err %v\n", err)
		return 1
	}
	fmt.Fprintln(out, "ready")
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "unsynced":
			fmt.Fprintf(out, "ok %d\n", s.unsynced())
		case "cut":
			// cut KEEP SEED1 SEED2
			keep := len(f) == 4 && f[1] == "1"
			var a, b uint64
			if len(f) == 4 {
				a, _ = strconv.ParseUint(f[2], 10, 64)
				b, _ = strconv.ParseUint(f[3], 10, 64)
			}
			st, err := s.cut(keep, rand.New(rand.NewPCG(a, b)))
			if err != nil {
				fmt.Fprintf(out, "err %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
				return 1
			}
			fmt.Fprintf(out, "ok %d %d\n", st.Unsynced, st.Kept)
		case "quit":
			if err := s.close(); err != nil {
				fmt.Fprintf(out, "err %v\n", err)
				return 1
			}
			fmt.Fprintln(out, "ok")
			return 0
		default:
			fmt.Fprintf(out, "err unknown command %q\n", f[0])
		}
	}
	if err := s.close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// Reason says why power-cut tests cannot run here, or "" when they can:
// they need /dev/fuse and root (the helper mounts with mount(2)).
func Reason() string {
	if _, err := os.Stat("/dev/fuse"); err != nil {
		return "no /dev/fuse on this machine (power-cut tests mount a FUSE file system)"
	}
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			return "not root and no fusermount3 on PATH (power-cut tests mount a FUSE file system)"
		}
	}
	return ""
}

// CutOptions say how much of what was not synced a cut keeps.
type CutOptions struct {
	// KeepPrefix keeps the first K unsynced changes, in the order they
	// were made, K drawn from Rand in [0, unsynced]; otherwise none.
	KeepPrefix bool
	Rand       *rand.Rand
}

// CutStats say what one cut threw away.
type CutStats struct {
	Unsynced int // changes not synced at the cut
	Kept     int // of those, kept (a prefix)
}

// FS is a power-cut mount: Dir is where processes use it.
type FS struct {
	// Dir is the mount point.
	Dir string

	mu   sync.Mutex
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	cuts int
}

// Mount mounts a fresh, empty power-cut file system for the test and
// unmounts it when the test ends. Where FUSE is missing it skips the test
// saying why, except under CI (CI set), where that is a failure.
func Mount(t testing.TB) *FS {
	t.Helper()
	if r := Reason(); r != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set but power-cut tests cannot run: %s", r)
		}
		t.Skipf("skipped: %s", r)
	}
	base := t.TempDir()
	f, err := New(filepath.Join(base, "backing"), filepath.Join(base, "mnt"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

// New starts the helper serving an empty power-cut file system at dir
// (created), its backing folders under base (created).
func New(base, dir string) (*FS, error) {
	for _, d := range []string{base, dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), helperEnv+"="+base+string(filepath.ListSeparator)+dir)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	f := &FS{Dir: dir, cmd: cmd, in: in, out: bufio.NewReader(outp)}
	line, err := f.out.ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		f.kill()
		return nil, fmt.Errorf("powercut: the helper did not mount %s: %q %v", dir, line, err)
	}
	return f, nil
}

func (f *FS) kill() {
	_ = f.cmd.Process.Kill()
	_ = f.cmd.Wait()
	_ = syscall.Unmount(f.Dir, syscall.MNT_DETACH)
}

// call sends one command and reads its answer's fields after "ok".
func (f *FS) call(cmd string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd == nil {
		return nil, fmt.Errorf("powercut: %s is closed", f.Dir)
	}
	if _, err := fmt.Fprintln(f.in, cmd); err != nil {
		return nil, fmt.Errorf("powercut: helper: %w", err)
	}
	line, err := f.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("powercut: helper: %w", err)
	}
	fields := strings.Fields(line)
	if len(fields) == 0 || fields[0] != "ok" {
		return nil, fmt.Errorf("powercut: %s", strings.TrimSpace(line))
	}
	return fields[1:], nil
}

// Unsynced is the number of changes on the mount not yet synced.
func (f *FS) Unsynced() (int, error) {
	r, err := f.call("unsynced")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(r[0])
}

// Cuts is the number of cuts so far.
func (f *FS) Cuts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cuts
}

// Cut pulls the plug: it unmounts (every process using the mount must be
// gone: kill them first, and close what the test opened there), throws
// away what was not synced (all of it, or all but a prefix, see
// CutOptions), rewrites the backing folder as the durable image and mounts
// that again at Dir.
func (f *FS) Cut(o CutOptions) (CutStats, error) {
	cmd := "cut 0 0 0"
	if o.KeepPrefix {
		r := o.Rand
		if r == nil {
			r = rand.New(rand.NewPCG(1, 2))
		}
		cmd = fmt.Sprintf("cut 1 %d %d", r.Uint64(), r.Uint64())
	}
	r, err := f.call(cmd)
	if err != nil {
		return CutStats{}, err
	}
	var st CutStats
	st.Unsynced, _ = strconv.Atoi(r[0])
	st.Kept, _ = strconv.Atoi(r[1])
	f.mu.Lock()
	f.cuts++
	f.mu.Unlock()
	return st, nil
}

// Close unmounts and stops the helper.
func (f *FS) Close() error {
	_, err := f.call("quit")
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cmd == nil {
		return nil
	}
	_ = f.in.Close()
	werr := f.cmd.Wait()
	if err != nil || werr != nil {
		_ = syscall.Unmount(f.Dir, syscall.MNT_DETACH)
		if err == nil {
			err = werr
		}
	}
	f.cmd = nil
	return err
}
