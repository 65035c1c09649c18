package advice

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"cardtill/hub"
	"cardtill/printer"
	"cardtill/report"
	"cardtill/scanner"
	"cardtill/store"
	"cardtill/sync"
	"cardtill/wechat"
)

// TestEveryLibraryErrorGetsItsAdvice: each typed error of the libraries,
// wrapped as the commands wrap them, gets the advice that names the key or
// the command its library no longer names.
func TestEveryLibraryErrorGetsItsAdvice(t *testing.T) {
	t.Parallel()
	wrap := func(err error) error { return fmt.Errorf("open journal /j.db: %w", err) }
	cases := []struct {
		name string
		err  error
		want []string
	}{
		{"journal is a folder", &store.NotJournalError{Path: "/j", Kind: store.NotJournalFolder}, []string{"[store] path"}},
		{"journal damaged", &store.NotJournalError{Path: "/j", Kind: store.NotJournalDamaged, Err: errors.New("bad")}, []string{"cardtill db backup", "move it away"}},
		{"journal too short", &store.NotJournalError{Path: "/j", Kind: store.NotJournalShort, Size: 10}, []string{"cardtill db backup"}},
		{"journal held", &store.LockedError{Path: "/j", Waited: 2 * time.Second}, []string{"another cardtill holds", "systemctl stop cardtill", "[store] path"}},
		{"journal folder", &store.FolderError{Path: "/j", Create: true, Err: errors.New("denied")}, []string{"[store] path"}},
		{"journal newer", &store.SchemaError{Path: "/j", Have: 9, Knows: 5}, []string{"upgrade cardtill"}},
		{"journal not backed up before migration", &store.MigrationBackupError{Path: "/j", Backup: "/j.schema5.bak", Schema: 5, Err: errors.New("no space left on device")}, []string{"[store] path", "free space"}},
		{"journal full", &store.FullError{Path: "/j", Size: 2, Max: 1}, []string{"cardtill db compact", "[store] max_size_mb"}},
		{"hub file held", fmt.Errorf("open hub store /h: %w", hub.ErrStoreLocked), []string{"another cardtill holds it", "'cardtill hub'"}},
		{"hub file missing", fmt.Errorf("open hub store /h: %w: x", hub.ErrNoStore), []string{"hub.store_path"}},
		{"not a hub file", fmt.Errorf("open hub store /h: %w", hub.ErrNotHubStore), []string{"hub.store_path"}},
		{"hub schema newer", &hub.SchemaError{Where: "database", Have: 9, Want: 3}, []string{"upgrade cardtill"}},
		{"hub not migrated", &hub.SchemaError{Where: "database", Have: 1, Want: 3}, []string{"start 'cardtill hub' once"}},
		{"hub file inconsistent", fmt.Errorf("read: %w", hub.ErrInconsistent), []string{"cardtill db check"}},
		{"hub TLS", fmt.Errorf("hub: %w: x", hub.ErrTLS), []string{"hub.tls_cert", "hub.tls_key"}},
		{"no such terminal", fmt.Errorf("remove terminal %q: %w", "t", hub.ErrNoTerminal), []string{"cardtill hub terminal list"}},
		{"key refused", hub.ErrUnauthorized, []string{"cardtill hub terminal add NAME", "wechat.terminal_key_file"}},
		{"no printer", printer.ErrNotSetUp, []string{"[printer] port"}},
		{"printer missing", fmt.Errorf("printer /dev/usb/lp0: %w", printer.ErrMissing), []string{"[printer] port", "ls /dev/usb/"}},
		{"Z of an open shift", fmt.Errorf("shift #3: %w", report.ErrShiftOpen), []string{"cardtill shift close"}},
		{"static token", &wechat.APIError{Err: wechat.ErrNoStaticToken}, []string{"wechat.static_token"}},
		{"no appid", &wechat.APIError{Err: wechat.ErrNoCredentials}, []string{"wechat.appid", "wechat.secret_file"}},
		{"no terminal key", &wechat.APIError{Err: wechat.ErrNoTerminalKey}, []string{"wechat.terminal_key_file"}},
		{"bad hub URL", fmt.Errorf("%w: x", wechat.ErrBadHubURL), []string{"wechat.hub_url"}},
		{"not WeChat", &wechat.UnknownError{Op: "x", Err: fmt.Errorf("%w", wechat.ErrNotWeChat)}, []string{"wechat.api_base"}},
		{"scanner missing", &scanner.OpenError{Port: "/dev/ttyACM0", Kind: scanner.OpenMissing}, []string{"scanner.port", "cardtill ports"}},
		{"scanner busy", &scanner.OpenError{Port: "/dev/ttyACM0", Kind: scanner.OpenBusy}, []string{"scanner.port"}},
		{"scanner not serial", &scanner.OpenError{Port: "/dev/ttyACM0", Kind: scanner.OpenNotSerial}, []string{"scanner.port", "cardtill ports"}},
		{"scanner settings", &scanner.OpenError{Port: "/dev/ttyACM0", Kind: scanner.OpenBadSettings}, []string{"scanner.baud"}},
		{"scan cut off", &scanner.RejectError{Kind: scanner.RejectIncomplete}, []string{"scanner.terminator"}},
		{"scanner config", scanner.Config{Port: "/dev/ttyACM0", Baud: 1234, DataBits: 9}.Validate(), []string{"scanner.baud", "scanner.data_bits"}},
		{"quiet period", &sync.OptionError{Field: "QuietPeriod"}, []string{"sync.quiet_period", "wechat.timeout"}},
		{"offline policy", sync.Policy{Mode: "maybe", MaxAge: -time.Second}.Validate(), []string{"offline.mode", "offline.max_age"}},
	}
	for _, c := range cases {
		if c.err == nil {
			t.Errorf("%s: no error to advise on", c.name)
			continue
		}
		got := Text(wrap(c.err))
		if !strings.HasPrefix(got, wrap(c.err).Error()+"; ") {
			t.Errorf("%s: %q does not start with the error and its advice", c.name, got)
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", c.name, got, w)
			}
		}
	}
}

// An error the libraries give no advice for is printed as it is.
func TestNoAdviceLeavesTheText(t *testing.T) {
	t.Parallel()
	err := errors.New("something else")
	if For(err) != "" || Text(err) != "something else" || Wrap(err) != err || Text(nil) != "" || Wrap(nil) != nil {
		t.Errorf("For %q, Text %q", For(err), Text(err))
	}
}

// Wrap carries the advice to where only Error() is read (the till
// screen), keeps the error for errors.Is, and Text does not say it twice.
func TestWrap(t *testing.T) {
	t.Parallel()
	err := fmt.Errorf("printer /dev/usb/lp0: %w", printer.ErrMissing)
	w := Wrap(err)
	if !errors.Is(w, printer.ErrMissing) || w.Error() != Text(err) || Text(w) != Text(err) {
		t.Errorf("Wrap: %q, Text %q", w, Text(w))
	}
}

// The real store.Open, as the commands call it, gets the advice.
func TestStoreOpenOfAFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	_, err := store.Open(dir, store.Options{})
	if got := Text(err); !strings.Contains(got, filepath.Base(dir)) || !strings.Contains(got, "set [store] path to a file") {
		t.Errorf("open of a folder: %q", got)
	}
}

// A refusal of the till's own names its setting; the hub refusing the
// terminal key names the command that issues one; the customer's refusal
// names nothing.
func TestForRefusal(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		o          sync.Outcome
		keyRefused bool
		want       string
	}{
		{sync.Outcome{Reason: sync.ReasonOfflineNotACode}, false, "offline.code_pattern"},
		{sync.Outcome{Reason: sync.ReasonConfig}, true, "cardtill hub terminal add till-9 on the hub"},
		{sync.Outcome{Reason: sync.ReasonConfig}, false, "wechat.custom_code_cards"},
		{sync.Outcome{Reason: sync.ReasonAlreadyUsed}, true, ""},
	} {
		got := ForRefusal(c.o, c.keyRefused, "till-9")
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("ForRefusal(%s, %v) = %q, want %q in it", c.o.Reason, c.keyRefused, got, c.want)
		}
	}
}
