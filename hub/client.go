package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ClientOptions configures a Client.
type ClientOptions struct {
	// URL is the hub's base URL, e.g. https://hub.example.com.
	URL string
	// TerminalKey is this till's key from 'cardtill hub terminal add'.
	TerminalKey string
	// HTTPClient is used for every request (a client with a 15 s timeout
	// when nil).
	HTTPClient *http.Client
}

// Client is the till's side of the hub's feed and token service.
type Client struct {
	base string
	key  string
	hc   *http.Client
}

// NewClient returns a client for the hub at o.URL.
func NewClient(o ClientOptions) *Client {
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	return &Client{base: strings.TrimRight(o.URL, "/"), key: o.TerminalKey, hc: hc}
}

// ErrUnauthorized: the hub does not know this terminal key (never issued,
// or revoked). Not worth retrying: the key must be replaced.
var ErrUnauthorized = errors.New("hub refused the terminal key")

// StatusError is any other non-200 answer of the hub.
type StatusError struct {
	Status int
	Msg    string // the hub's error text
	Code   string // the hub's error code (a wechat.HubCode*, HubCodeFleetFormat), if any
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("hub answered %d: %s", e.Status, e.Msg)
}

// Changes fetches the feed after cursor ("" = from the start). Pass the
// page's Next as the next cursor; while More is true, another page waits.
func (c *Client) Changes(ctx context.Context, cursor string) (ChangesPage, error) {
	var page ChangesPage
	err := c.get(ctx, PathChanges+"?"+url.Values{"since": {cursor}}.Encode(), &page)
	if err != nil {
		return ChangesPage{}, fmt.Errorf("hub changes: %w", err)
	}
	return page, nil
}

// Token fetches the access token the hub keeps fresh. The token is a
// secret: never log it.
func (c *Client) Token(ctx context.Context) (TokenResponse, error) {
	var t TokenResponse
	if err := c.get(ctx, PathToken, &t); err != nil {
		return TokenResponse{}, fmt.Errorf("hub token: %w", err)
	}
	if t.AccessToken == "" {
		return TokenResponse{}, errors.New("hub token: empty access_token in the answer")
	}
	return t, nil
}

func (c *Client) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	return c.do(req, v)
}

func (c *Client) do(req *http.Request, v any) error {
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("read answer: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.Unmarshal(body, v); err != nil {
			return fmt.Errorf("answer is not the expected JSON: %w", err)
		}
		return nil
	case http.StatusUnauthorized:
		return ErrUnauthorized
	}
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil || eb.Error == "" {
		eb.Error = http.StatusText(resp.StatusCode)
	}
	return &StatusError{Status: resp.StatusCode, Msg: eb.Error, Code: eb.Code}
}

// Report sends a batch of fleet reports (POST PathFleet). A nil error
// means the hub stored every report of it. A *StatusError with Code
// HubCodeFleetFormat: the hub is older than this till's report format.
func (c *Client) Report(ctx context.Context, b FleetBatch) (FleetAnswer, error) {
	body, err := json.Marshal(b)
	if err != nil {
		return FleetAnswer{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+PathFleet, bytes.NewReader(body))
	if err != nil {
		return FleetAnswer{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	var ans FleetAnswer
	if err := c.do(req, &ans); err != nil {
		return FleetAnswer{}, fmt.Errorf("hub fleet reports: %w", err)
	}
	return ans, nil
}
