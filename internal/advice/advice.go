// Package advice adds to the library packages' errors what the operator
// can do about them: the config key to change and the command to run.
//
// The libraries (store, sync, wechat, scanner, hub, printer, report, ...)
// state facts in typed errors and never name a key or a command
// (internal/liberrors' guard test keeps it so); which key or command helps
// is this program's knowledge. For maps a typed error to its advice, and
// Text is what the command line prints: the error and its advice.
package advice

import (
	"errors"
	"strings"

	"cardtill/hub"
	"cardtill/printer"
	"cardtill/report"
	"cardtill/scanner"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
)

// Text is err's text followed by its advice, if any ("" for nil). The
// advice is left out when the text already ends with it.
func Text(err error) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if a := For(err); a != "" && !strings.Contains(s, a) {
		s += "; " + a
	}
	return s
}

// For is what to do about err, naming keys and commands, or "" when there
// is nothing to add to its text.
func For(err error) string {
	if err == nil {
		return ""
	}
	for _, f := range rules {
		if a := f(err); a != "" {
			return a
		}
	}
	return ""
}

// rules are tried in order; the first with something to say wins.
var rules = []func(error) string{
	storeAdvice,
	hubAdvice,
	printerAdvice,
	reportAdvice,
	wechatAdvice,
	scannerAdvice,
	syncAdvice,
}

func storeAdvice(err error) string {
	var nj *store.NotJournalError
	var fe *store.FolderError
	switch {
	case errors.As(err, &nj) && nj.Kind == store.NotJournalFolder:
		return "set [store] path to a file"
	case errors.As(err, &nj):
		return "the file is damaged or not a cardtill journal: restore it from a backup (cardtill db backup) or move it away"
	case errors.Is(err, store.ErrLocked):
		return "another cardtill holds it: stop that one first (e.g. systemctl stop cardtill) or use another [store] path"
	case errors.As(err, &fe):
		return "check [store] path and permissions"
	case errors.Is(err, store.ErrNewerSchema):
		return "upgrade cardtill"
	case errors.Is(err, store.ErrMigrationBackup):
		return "this cardtill backs the journal up beside itself before upgrading its format: free space (as much as the journal's size) or write access in the folder of [store] path, then start it again; until then an older cardtill still reads the journal"
	case errors.Is(err, store.ErrFull):
		return "sync the queue, then run cardtill db compact or raise [store] max_size_mb"
	}
	return ""
}

func hubAdvice(err error) string {
	switch {
	case errors.Is(err, hub.ErrStoreLocked):
		return "another cardtill holds it (is 'cardtill hub' running? stop it first, or wait)"
	case errors.Is(err, hub.ErrNoStore):
		return "has the hub run yet? check hub.store_path"
	case errors.Is(err, hub.ErrNotHubStore):
		return "check hub.store_path"
	case errors.Is(err, hub.ErrSchemaNewer):
		return "upgrade cardtill, or run the matching cardtill version"
	case errors.Is(err, hub.ErrNotMigrated):
		return "start 'cardtill hub' once (it migrates at start)"
	case errors.Is(err, hub.ErrInconsistent):
		return "run 'cardtill db check' on it"
	case errors.Is(err, hub.ErrTLS):
		return "check hub.tls_cert and hub.tls_key"
	case errors.Is(err, hub.ErrNoTerminal):
		return "'cardtill hub terminal list' shows the names"
	case errors.Is(err, hub.ErrUnauthorized):
		return "issue a new key with 'cardtill hub terminal add NAME' on the hub and put it in wechat.terminal_key_file"
	}
	return ""
}

func printerAdvice(err error) string {
	switch {
	case errors.Is(err, printer.ErrNotSetUp):
		return "set [printer] port in the config (a device such as /dev/usb/lp0, or a serial port with baud)"
	case errors.Is(err, printer.ErrMissing):
		return "check [printer] port (ls /dev/usb/ /dev/serial/by-id/)"
	}
	return ""
}

func reportAdvice(err error) string {
	if errors.Is(err, report.ErrShiftOpen) {
		return "close it first (cardtill shift close)"
	}
	return ""
}

func wechatAdvice(err error) string {
	switch {
	case errors.Is(err, wechat.ErrNoStaticToken):
		return "set wechat.static_token"
	case errors.Is(err, wechat.ErrNoCredentials):
		return "set wechat.appid and wechat.secret_file (on the hub: hub.appid and hub.secret_file)"
	case errors.Is(err, wechat.ErrNoTerminalKey):
		return "set wechat.terminal_key_file"
	case errors.Is(err, wechat.ErrBadHubURL):
		return "check wechat.hub_url"
	case errors.Is(err, wechat.ErrNotWeChat):
		return "check wechat.api_base (on the hub: hub.api_base)"
	}
	return ""
}

func scannerAdvice(err error) string {
	var oe *scanner.OpenError
	var re *scanner.RejectError
	if ces := all[*scanner.ConfigError](err); len(ces) > 0 {
		keys := make([]string, len(ces))
		for i, ce := range ces {
			keys[i] = "scanner." + ce.Key
		}
		return "fix " + strings.Join(keys, ", ") + " in the config"
	}
	switch {
	case errors.As(err, &oe) && oe.Kind == scanner.OpenMissing:
		return "set scanner.port to a port 'cardtill ports' lists"
	case errors.As(err, &oe) && oe.Kind == scanner.OpenBusy:
		return "if it is another cardtill, stop it or give this one another scanner.port"
	case errors.As(err, &oe) && oe.Kind == scanner.OpenNotSerial:
		return "fix scanner.port ('cardtill ports' lists the serial ports)"
	case errors.As(err, &oe) && oe.Kind == scanner.OpenBadSettings:
		return "set scanner.baud, data_bits, parity and stop_bits"
	case errors.As(err, &re) && re.Kind == scanner.RejectIncomplete:
		return "check scanner.terminator"
	}
	return ""
}

// syncKeys are the config keys that set the engine's options.
var syncKeys = map[string]string{
	"QuietPeriod":         "sync.quiet_period (longer than wechat.timeout and wechat.sync_timeout)",
	"Policy.Mode":         "offline.mode",
	"Policy.UnknownCodes": "offline.unknown_codes",
	"Policy.MaxAge":       "offline.max_age",
}

func syncAdvice(err error) string {
	var keys []string
	for _, oe := range all[*sync.OptionError](err) {
		if k, ok := syncKeys[oe.Field]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return "fix " + strings.Join(keys, ", ") + " in the config"
}

// all is every error of type T in err's tree, in order (errors.Join and
// %w with several errors have more than one).
func all[T error](err error) []T {
	var out []T
	var walk func(error)
	walk = func(err error) {
		if t, ok := err.(T); ok {
			out = append(out, t)
			return
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			if e := u.Unwrap(); e != nil {
				walk(e)
			}
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				walk(e)
			}
		}
	}
	walk(err)
	return out
}

// Wrap is err with its advice added to its text, for an error shown
// where Text is not called (the till screen); errors.Is and errors.As
// still see err. Wrap(nil) is nil.
func Wrap(err error) error {
	if For(err) == "" {
		return err
	}
	return &advised{err}
}

type advised struct{ err error }

func (a *advised) Error() string { return Text(a.err) }
func (a *advised) Unwrap() error { return a.err }
