package wechat

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// Machine-readable codes the hub sends in the "code" field of its JSON
// error body ({"error": "...", "code": "..."}). A hub older than these codes,
// or a reverse proxy in front of the hub, sends none: HubError.Code is then
// "" and the HTTP status alone classifies the answer.
const (
	// HubCodeTerminalRefused: no bearer key, or an unknown or revoked
	// terminal key (HTTP 401).
	HubCodeTerminalRefused = "terminal_refused"
	// HubCodeNoSecret: the hub has no AppSecret and hands out no tokens
	// (HTTP 503).
	HubCodeNoSecret = "no_appsecret"
	// HubCodeWeChatUnavailable: the hub could not get a token from WeChat
	// (HTTP 502).
	HubCodeWeChatUnavailable = "wechat_unavailable"
)

// HubError is an answer of the hub's token service (GET <hub>/v1/token)
// other than 200. It never carries a token or the terminal key.
//
// A refused terminal key (Refused: HTTP 401 or 403) is a configuration
// problem of this till: retrying will not help until HQ adds the till on the
// hub. Any other status (the hub has no AppSecret, cannot reach WeChat, a
// proxy in front of it cannot reach it) means no token can be had now: such
// an error matches ErrOutcomeUnknown (errors.Is), like a hub that cannot be
// reached at all, so callers treat it as an outage.
type HubError struct {
	Status  int    // HTTP status of the hub's answer
	Code    string // HubCode*, "" from an old hub or a proxy
	Message string // the hub's "error" text, or the start of a plain-text body
}

func (e *HubError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: HTTP %d", OpHubToken, e.Status)
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.Code != "" {
		b.WriteString(" (" + e.Code + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Refused reports whether the hub refused this till's terminal key: HTTP
// 401 or 403, or the code terminal_refused.
func (e *HubError) Refused() bool {
	return e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Code == HubCodeTerminalRefused
}

// Is makes every HubError but a refusal match ErrOutcomeUnknown.
func (e *HubError) Is(target error) bool { return target == ErrOutcomeUnknown && !e.Refused() }

// maxHubMessage bounds HubError.Message (a proxy may answer a whole page).
const maxHubMessage = 200

// hubError builds the HubError for a non-200 answer with body data. It
// reads the hub's JSON error body ({"error","code"}); any other body (an old
// hub's plain text, a proxy's page) gives its first line as the message.
// secret is scrubbed from the message.
func hubError(status int, data []byte, secret string) *HubError {
	e := &HubError{Status: status}
	if secret != "" {
		data = []byte(strings.ReplaceAll(string(data), secret, "REDACTED"))
	}
	var body struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}
	if json.Unmarshal(data, &body) == nil && (body.Error != "" || body.Code != "") {
		e.Code, e.Message = cleanLine(body.Code, 40), cleanLine(body.Error, maxHubMessage)
	} else {
		line, _, _ := strings.Cut(strings.TrimSpace(string(data)), "\n")
		e.Message = cleanLine(line, maxHubMessage)
	}
	if secret != "" { // a JSON escape could have hidden it from the first pass
		e.Message = strings.ReplaceAll(e.Message, secret, "REDACTED")
		e.Code = strings.ReplaceAll(e.Code, secret, "REDACTED")
	}
	return e
}

// cleanLine keeps s printable, on one line, at most n runes.
func cleanLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.TrimSpace(s))
	if r := []rune(s); len(r) > n {
		s = string(r[:n]) + "…"
	}
	return s
}
