package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"time"
)

// The admin socket lets `cardtill hub events` and `cardtill hub terminal
// ...` work while the hub runs and holds its bbolt file (one process per
// file). It is a Unix socket next to the file (AdminSocketPath), created
// mode 0600: whoever may open it may read the hub's file anyway. It is never
// served over TCP.

// AdminSocketPath is the admin socket of the hub whose file is storePath.
func AdminSocketPath(storePath string) string { return storePath + ".sock" }

// ListenAdmin creates the admin socket, replacing a stale one left by a
// hub that did not stop cleanly.
func ListenAdmin(path string) (net.Listener, error) {
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		_ = c.Close()
		return nil, fmt.Errorf("admin socket %s: another hub is serving it: stop it first", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("admin socket: %w", err)
	}
	return ln, nil
}

// ServeAdmin answers admin requests on ln until ctx ends.
func (s *Server) ServeAdmin(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.adminHandler(), ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("admin socket: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	return err
}

type addTerminalBody struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

func (s *Server) adminHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, struct{}{}) })
	mux.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var since time.Time
		if v := q.Get("since"); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				jsonError(w, 400, "since must be RFC 3339")
				return
			}
			since = t
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		evs, err := s.store.Events(since, limit)
		if err != nil {
			jsonError(w, 500, err.Error())
			return
		}
		writeJSON(w, 200, evs)
	})
	mux.HandleFunc("GET /terminals", func(w http.ResponseWriter, r *http.Request) {
		ts, err := s.store.Terminals()
		if err != nil {
			jsonError(w, 500, err.Error())
			return
		}
		writeJSON(w, 200, ts)
	})
	mux.HandleFunc("POST /terminals", func(w http.ResponseWriter, r *http.Request) {
		var b addTerminalBody
		if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&b); err != nil || b.Key == "" {
			jsonError(w, 400, "want {\"name\":..,\"key\":..}")
			return
		}
		err := s.store.AddTerminal(b.Name, b.Key)
		switch {
		case errors.Is(err, ErrTerminalExists):
			jsonError(w, 409, err.Error())
		case err != nil:
			jsonError(w, 400, err.Error())
		default:
			s.log.Info("terminal added", "terminal", b.Name)
			writeJSON(w, 200, struct{}{})
		}
	})
	mux.HandleFunc("DELETE /terminals/{name}", func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		err := s.store.RemoveTerminal(name)
		switch {
		case errors.Is(err, ErrNoTerminal):
			jsonError(w, 404, err.Error())
		case err != nil:
			jsonError(w, 500, err.Error())
		default:
			s.log.Info("terminal removed", "terminal", name)
			writeJSON(w, 200, struct{}{})
		}
	})
	s.fleetAdmin(mux)
	s.accountAdmin(mux)
	return mux
}

// adminError is the running hub's answer to a refused admin request; it
// reads as the hub's message and matches ErrTerminalExists/ErrNoTerminal.
type adminError struct {
	msg string
	is  error
}

func (e *adminError) Error() string { return e.msg }
func (e *adminError) Unwrap() error { return e.is }

// AdminClient talks to a running hub over its admin socket. Its methods
// match Store's, so the CLI uses either.
type AdminClient struct {
	hc *http.Client
}

// DialAdmin connects to the admin socket at path and checks that a hub
// answers there.
func DialAdmin(ctx context.Context, path string) (*AdminClient, error) {
	c := &AdminClient{hc: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		}},
	}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := c.do(ctx, http.MethodGet, "/ping", nil, nil); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *AdminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://hub"+path, body)
	if err != nil {
		return err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("hub admin socket: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		var eb errorBody
		_ = json.Unmarshal(b, &eb)
		e := &adminError{msg: eb.Error}
		switch {
		case eb.Code == adminCodeNoConflict:
			e.is = ErrNoConflict
		case eb.Code == adminCodeResolved:
			e.is = ErrConflictResolved
		case eb.Code == adminCodeAccountExists:
			e.is = ErrAccountExists
		case eb.Code == adminCodeNoAccount:
			e.is = ErrNoAccount
		case resp.StatusCode == 409:
			e.is = ErrTerminalExists
		case resp.StatusCode == 404:
			e.is = ErrNoTerminal
		}
		return e
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Events is Store.Events on the running hub.
func (c *AdminClient) Events(since time.Time, limit int) ([]EventRecord, error) {
	q := url.Values{"limit": {strconv.Itoa(limit)}}
	if !since.IsZero() {
		q.Set("since", since.Format(time.RFC3339Nano))
	}
	var evs []EventRecord
	if err := c.do(context.Background(), http.MethodGet, "/events?"+q.Encode(), nil, &evs); err != nil {
		return nil, err
	}
	return evs, nil
}

// Terminals is Store.Terminals on the running hub.
func (c *AdminClient) Terminals() ([]Terminal, error) {
	var ts []Terminal
	if err := c.do(context.Background(), http.MethodGet, "/terminals", nil, &ts); err != nil {
		return nil, err
	}
	return ts, nil
}

// AddTerminal is Store.AddTerminal on the running hub (the key crosses
// only the local 0600 socket).
func (c *AdminClient) AddTerminal(name, key string) error {
	if err := c.do(context.Background(), http.MethodPost, "/terminals", addTerminalBody{Name: name, Key: key}, nil); err != nil {
		return err
	}
	return nil
}

// RemoveTerminal is Store.RemoveTerminal on the running hub.
func (c *AdminClient) RemoveTerminal(name string) error {
	return c.do(context.Background(), http.MethodDelete, "/terminals/"+url.PathEscape(name), nil, nil)
}

// Close releases the client's connections.
func (c *AdminClient) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}
