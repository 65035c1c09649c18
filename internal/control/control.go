// Package control owns the till's control socket, server and client.
//
// The control socket lets `cardtill db backup` and `cardtill db check` work
// while `cardtill run` or `cardtill sync` holds the journal (bbolt allows
// one process per file): the process that holds the journal answers them
// itself. It is a Unix socket next to the journal (SocketPath),
// mode 0600, created inside a private 0700 folder and then moved into
// place, so no other user can connect even for a moment; on Linux the
// server also refuses a peer that is neither its own user nor root
// (SO_PEERCRED). It is never served over TCP and answers only ping, status,
// backup, check, shifts and report. On Windows (AF_UNIX, Windows 10 1803 and later) the
// socket is protected by the ACL of its folder (%ProgramData%\cardtill).
package control

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"cardtill/store"
)

// SocketPath is the control socket of the till whose journal is journal.
func SocketPath(journal string) string { return journal + ".sock" }

// maxSocketPath is the longest socket path every platform accepts
// (sun_path is 108 bytes on Linux, 104 on the BSDs and macOS).
const maxSocketPath = 103

// Listener is the listening control socket; Close removes the
// socket file if it is still the one this process made.
type Listener struct {
	net.Listener
	path string
	fi   os.FileInfo
}

func (l *Listener) Close() error {
	err := l.Listener.Close()
	if fi, e := os.Lstat(l.path); e == nil && os.SameFile(fi, l.fi) {
		_ = os.Remove(l.path)
	}
	return err
}

// Accept hands on connections from this user or root only.
func (l *Listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if err := allowPeer(c); err != nil {
			_ = c.Close()
			continue
		}
		return c, nil
	}
}

// Listen creates the control socket at path. The caller holds the
// journal's lock, so a socket file already there was left by a cardtill
// that did not stop cleanly (kill -9, power cut) and is replaced.
func Listen(path string) (*Listener, error) {
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("control socket %s: the path is longer than %d bytes, which Unix sockets cannot have; use a shorter [store] path", path, maxSocketPath)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("control socket %s: a file that is not a socket is in the way; move it away", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket: removing the stale %s: %w", path, err)
		}
	}
	var ln net.Listener
	if runtime.GOOS == "windows" {
		l, err := net.Listen("unix", path)
		if err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
		ln = l
	} else {
		// Listen in a private folder, restrict the socket, then move it
		// into place: it is never reachable with looser permissions.
		dir, err := os.MkdirTemp(filepath.Dir(path), ".cardtill-ctl-")
		if err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
		defer os.RemoveAll(dir)
		tmp := filepath.Join(dir, "s")
		l, err := net.Listen("unix", tmp)
		if err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
		l.(*net.UnixListener).SetUnlinkOnClose(false)
		if err := os.Chmod(tmp, 0o600); err != nil {
			_ = l.Close()
			return nil, fmt.Errorf("control socket: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			_ = l.Close()
			return nil, fmt.Errorf("control socket: %w", err)
		}
		ln = l
	}
	fi, err := os.Lstat(path)
	if err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &Listener{Listener: ln, path: path, fi: fi}, nil
}

// Server answers on the control socket for the journal it holds.
type Server struct {
	db  *store.DB
	log *slog.Logger
	// busy admits one backup or check at a time: each holds a read
	// transaction for as long as it runs.
	busy chan struct{}
}

func NewServer(db *store.DB, log *slog.Logger) *Server {
	return &Server{db: db, log: log, busy: make(chan struct{}, 1)}
}

// serve answers on ln until ctx ends.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("control socket: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}

type Ping struct {
	Journal string `json:"journal"`
	PID     int    `json:"pid"`
}

type backupReq struct {
	Path string `json:"path"`
	// Folder is folderID of Path's folder as the client sees it.
	Folder string `json:"folder,omitempty"`
}

type BackupResult struct {
	Path  string `json:"path"`
	Bytes int64  `json:"bytes"`
}

// JournalReport is what `db check` prints, read directly or through the
// control socket.
type JournalReport struct {
	Problem string              `json:"problem,omitempty"`
	Schema  int                 `json:"schema"`
	Counts  map[store.State]int `json:"counts"`
	Size    int64               `json:"size"`
	Max     int64               `json:"max"`
}

type errBody struct {
	Error string `json:"error"`
}

func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, Ping{Journal: s.db.Path(), PID: os.Getpid()})
	})
	mux.HandleFunc("POST /backup", func(w http.ResponseWriter, r *http.Request) {
		var req backupReq
		if err := json.NewDecoder(io.LimitReader(r.Body, 8192)).Decode(&req); err != nil {
			writeJSON(w, 400, errBody{`want {"path": "/absolute/new/file"}`})
			return
		}
		if err := ValidateBackupPath(req.Path); err != nil {
			writeJSON(w, 400, errBody{err.Error()})
			return
		}
		if id := folderID(filepath.Dir(req.Path)); req.Folder != "" && id != "" && id != req.Folder {
			writeJSON(w, 400, errBody{fmt.Sprintf("backup: the running till sees another folder at %s than you do (systemd PrivateTmp or a container); choose a folder under the journal's, e.g. %s", filepath.Dir(req.Path), filepath.Dir(s.db.Path()))})
			return
		}
		if !s.acquire(w) {
			return
		}
		defer s.release()
		n, err := WriteBackup(r.Context(), s.db, req.Path)
		if err != nil {
			s.log.Warn("backup through the control socket failed", "path", req.Path, "err", err)
			msg := err.Error()
			if errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS) {
				msg += fmt.Sprintf("; the running till writes the copy as its own user, and may write only where its service allows: choose a folder such as %s", filepath.Dir(s.db.Path()))
			}
			writeJSON(w, 500, errBody{msg})
			return
		}
		s.log.Info("journal backed up through the control socket", "path", req.Path, "bytes", n)
		writeJSON(w, 200, BackupResult{Path: req.Path, Bytes: n})
	})
	mux.HandleFunc("GET /status", s.serveStatus) // doctor's journal and queue figures (cmd_doctor_journal.go)
	s.shiftRoutes(mux)                           // shift list and report (control_shift.go)
	mux.HandleFunc("GET /check", func(w http.ResponseWriter, r *http.Request) {
		if !s.acquire(w) {
			return
		}
		defer s.release()
		rep, err := CheckJournal(s.db)
		if err != nil {
			writeJSON(w, 500, errBody{err.Error()})
			return
		}
		writeJSON(w, 200, rep)
	})
	return mux
}

func (s *Server) acquire(w http.ResponseWriter) bool {
	select {
	case s.busy <- struct{}{}:
		return true
	default:
		writeJSON(w, 409, errBody{"a backup or check of this journal is already running; try again when it ends"})
		return false
	}
}

func (s *Server) release() { <-s.busy }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// CheckJournal runs the journal's check and reads what `db check` prints.
// A failed check is a Problem, not an error. The running till's journal is
// checked on a snapshot (store.CheckSnapshot), so scans never wait for it.
func CheckJournal(db *store.DB) (JournalReport, error) {
	var rep JournalReport
	if err := db.CheckSnapshot(); err != nil {
		rep.Problem = err.Error()
	}
	var err error
	if rep.Counts, err = db.CountByState(); err != nil {
		return rep, err
	}
	if rep.Size, rep.Max, err = db.Size(); err != nil {
		return rep, err
	}
	rep.Schema, err = db.SchemaVersion()
	return rep, err
}

// ValidateBackupPath accepts an absolute, clean path of a file that does
// not exist yet, in a folder that does.
func ValidateBackupPath(p string) error {
	switch {
	case p == "":
		return errors.New("backup: no file name given")
	case len(p) > 4096 || strings.ContainsRune(p, 0):
		return errors.New("backup: not a usable file name")
	case !filepath.IsAbs(p):
		return fmt.Errorf("backup: %q is not an absolute path", p)
	case filepath.Clean(p) != p:
		return fmt.Errorf("backup: %q is not a clean path (use %q)", p, filepath.Clean(p))
	}
	dir := filepath.Dir(p)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("backup: the folder %s: %w", dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("backup: %s is not a folder", dir)
	}
	if _, err := os.Lstat(p); err == nil {
		return fmt.Errorf("backup: %s already exists; choose a new file name", p)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup: %w", err)
	}
	return nil
}

// WriteBackup writes a consistent copy of db (one read transaction) to a
// temporary file next to dst, syncs it and then gives it the name dst,
// which must not exist: a backup is either whole under its name or not
// there. Mode 0600.
func WriteBackup(ctx context.Context, db *store.DB, dst string) (int64, error) {
	dir, base := filepath.Split(dst)
	f, err := os.CreateTemp(dir, "."+base+".part-*")
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	n, err := db.Backup(ctxWriter{ctx, f})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = publish(tmp, dst)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return 0, fmt.Errorf("backup to %s: %w", dst, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return n, nil
}

// publish gives the finished file tmp the name dst without replacing a
// file that appeared there meanwhile: a hard link fails if dst exists. On
// a file system without hard links (a FAT USB stick) it renames after
// checking dst is still free.
func publish(tmp, dst string) error {
	err := os.Link(tmp, dst)
	switch {
	case err == nil:
		return os.Remove(tmp)
	case errors.Is(err, fs.ErrExist):
		return fmt.Errorf("%s appeared while the backup was written; choose a new file name", dst)
	}
	if _, serr := os.Lstat(dst); serr == nil {
		return fmt.Errorf("%s appeared while the backup was written; choose a new file name", dst)
	}
	return os.Rename(tmp, dst)
}

// ctxWriter stops a backup whose requester went away.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Client talks to the cardtill that holds a journal.
type Client struct {
	hc   *http.Client
	path string
	ping Ping
}

// ErrNoControl means nothing answers on the control socket (no socket, or
// a stale one left by a cardtill that was killed).
var ErrNoControl = errors.New("no running cardtill answers on the control socket")

// Dial connects to the control socket at path and asks who answers.
func Dial(ctx context.Context, path string) (*Client, error) {
	c := &Client{path: path, hc: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.do(pctx, http.MethodGet, "/ping", nil, &c.ping); err != nil {
		c.Close()
		var ne *net.OpError
		if errors.As(err, &ne) && ne.Op == "dial" {
			return nil, fmt.Errorf("%w (%s: %v)", ErrNoControl, path, ne.Err)
		}
		return nil, err
	}
	return c, nil
}

// Peer is who answered the ping: the journal it holds and its pid.
func (c *Client) Peer() Ping { return c.ping }

// Close releases the client's connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

func (c *Client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://cardtill"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("control socket %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		var e errBody
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = fmt.Sprintf("control socket %s answered %s", c.path, resp.Status)
		}
		return errors.New(e.Error)
	}
	return json.Unmarshal(b, out)
}

// backup asks the running cardtill to write a backup to path (absolute).
func (c *Client) Backup(ctx context.Context, path string) (BackupResult, error) {
	var out BackupResult
	err := c.do(ctx, http.MethodPost, "/backup", backupReq{Path: path, Folder: folderID(filepath.Dir(path))}, &out)
	return out, err
}

// check asks the running cardtill to check its journal.
func (c *Client) Check(ctx context.Context) (JournalReport, error) {
	var out JournalReport
	err := c.do(ctx, http.MethodGet, "/check", nil, &out)
	return out, err
}

// holds reports whether the answering cardtill holds the journal at path.
func (c *Client) Holds(path string) bool {
	a, err1 := os.Stat(c.ping.Journal)
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}
