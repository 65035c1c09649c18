package doctor

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"cardtill/internal/control"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"cardtill/hub"
	"cardtill/internal/advice"
	"cardtill/internal/config"
	"cardtill/scanner"
	"cardtill/wechat"
)

// A Finding's Status. A till is fit to serve when no finding is Fail.
const (
	OK   = "ok"
	Warn = "warn"
	Fail = "fail"
)

// Finding is one check's verdict: what was looked at, what was seen and,
// unless all is well, what to do. Detail and Fix never hold a secret.
type Finding struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// Report is what `doctor --json` prints.
type Report struct {
	Version  string    `json:"version"`
	Fit      bool      `json:"fit"`
	Config   string    `json:"config"`
	Findings []Finding `json:"findings"`
	// Journal holds the journal's figures (size, max, waiting, in_doubt,
	// oldest, next_due, conflicts) when doctor could read them, for
	// monitoring scripts.
	Journal *control.TillStatus `json:"journal,omitempty"`
}

// Doctor holds what the checks need. Every dependency is a field so tests
// can point it at temp files, a pty and loopback servers; New sets them for
// the real machine.
type Doctor struct {
	cfg    *config.Config
	getenv func(string) string
	now    func() time.Time
	hc     *http.Client
	// listPorts is scanner.ListPorts unless a test sets it.
	listPorts func() ([]scanner.PortInfo, error)
	// journal is what the journal check read (nil until then, or when it
	// could not read the figures).
	journal *control.TillStatus
	// longWriter is how long a write transaction on the hub's database
	// cluster may be open before doctor --hub warns (0: longWriterAge).
	longWriter time.Duration
}

// New returns a Doctor for cfg on this machine: the real clock, an HTTP
// client bounded by wechat.timeout and the machine's serial ports. getenv
// reads the environment (secrets may come from it).
func New(cfg *config.Config, getenv func(string) string) *Doctor {
	return &Doctor{
		cfg:       cfg,
		getenv:    getenv,
		now:       time.Now,
		hc:        &http.Client{Timeout: cfg.WeChat.Timeout.Duration + 2*time.Second},
		listPorts: scanner.ListPorts,
	}
}

// Journal is the journal's figures as the till checks read them (the
// running till's, through its control socket, when it holds the journal),
// or nil when they could not be read or Till has not run.
func (d *Doctor) Journal() *control.TillStatus { return d.journal }

// ConfigUnreadable is the one finding when the config file cannot be
// loaded: nothing else can be checked.
func ConfigUnreadable(err error) Finding {
	return Finding{Name: "config", Status: Fail, Detail: err.Error(),
		Fix: "fix the config file (the message names the key), then run 'cardtill doctor' again"}
}

// Clock skew limits. WeChat's pushes carry a timestamp the hub checks
// (hub.timestamp_window, 5 minutes by default); the till's offline age,
// shift hours and TLS all assume a right clock.
const (
	skewWarn = 30 * time.Second
	skewFail = 5 * time.Minute
)

// JournalWarnFraction of store.max_size_mb draws a warning here and on the
// till's status bar.
const JournalWarnFraction = 0.8

// Till performs every check of a till, in order.
func (d *Doctor) Till(ctx context.Context) []Finding {
	jf, js := d.checkJournal(ctx)
	d.journal = js.st
	out := []Finding{d.checkConfig(), d.checkCredentials(), jf}
	queueAt := len(out)
	out = append(out, d.checkLog(), d.checkScanner(ctx))
	var dates []dated
	wc, wd := d.checkReach(ctx, "wechat", d.cfg.WeChat.APIBase)
	out = append(out, wc)
	if wd != nil {
		dates = append(dates, *wd)
	}
	if d.cfg.WeChat.HubURL != "" {
		hc, hd := d.checkReach(ctx, "hub", strings.TrimRight(d.cfg.WeChat.HubURL, "/")+hub.PathHealth)
		out = append(out, hc)
		if hd != nil {
			dates = append(dates, *hd)
		}
	}
	out = append(out, checkClock(dates), d.checkToken(ctx))
	// The queue finding sits next to the journal's; it needs to know
	// whether WeChat answered.
	q := d.checkQueue(js, wc.Status == OK)
	return append(out[:queueAt], append([]Finding{q}, out[queueAt:]...)...)
}

// Fit says whether a till (or hub) with these findings may serve: no
// finding is Fail.
func Fit(fs []Finding) bool {
	for _, f := range fs {
		if f.Status == Fail {
			return false
		}
	}
	return true
}

// Print writes the findings for the config file at path: one line each
// (and its fix) and the verdict, or with asJSON one Report for monitoring.
// version is this cardtill's.
func Print(w io.Writer, version, path string, fs []Finding, journal *control.TillStatus, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(Report{Version: version, Fit: Fit(fs), Config: path, Findings: fs, Journal: journal})
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "cardtill doctor: %s\n\n", path)
	for _, f := range fs {
		fmt.Fprintf(&b, "%-4s  %-11s %s\n", strings.ToUpper(f.Status), f.Name, f.Detail)
		if f.Fix != "" {
			fmt.Fprintf(&b, "      %-11s -> %s\n", "", f.Fix)
		}
	}
	if Fit(fs) {
		b.WriteString("\nfit to serve\n")
	} else {
		b.WriteString("\nNOT fit to serve: fix the FAIL lines above\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// checkConfig reports the file and what it makes of this machine. Loading
// already validated every value; this adds what is legal but unwise.
func (d *Doctor) checkConfig() Finding {
	c := d.cfg
	f := Finding{Name: "config", Status: OK,
		Detail: fmt.Sprintf("valid (terminal %q, token from %s)", c.Terminal.ID, c.WeChat.TokenSource)}
	if c.Terminal.ID == "" {
		f.Status, f.Fix = Warn, "set terminal.id to a name for this till, e.g. \"store12-till1\": reports and the hub tell tills apart by it"
		return f
	}
	if c.Path != "" {
		if open, fix, err := readableByEveryone(c.Path); err == nil && open && hasInlineSecret(c) {
			f.Status = Warn
			f.Detail += "; the file holds a secret and is readable by every user"
			f.Fix = fix + ", or move the secret to a file or environment variable"
		}
	}
	return f
}

func hasInlineSecret(c *config.Config) bool {
	return c.WeChat.StaticToken != "" || c.Hub.Token != "" || c.Hub.EncodingAESKey != "" ||
		c.Hub.PreviousToken != "" || c.Hub.PreviousEncodingAESKey != ""
}

// checkCredentials checks that the secret the token source needs is there
// and readable. It reads the secret but prints only where it came from.
func (d *Doctor) checkCredentials() Finding {
	c := d.cfg
	f := Finding{Name: "credentials"}
	switch c.WeChat.TokenSource {
	case "static":
		if c.WeChat.StaticToken == "" {
			return Finding{Name: f.Name, Status: Fail, Detail: "token_source = \"static\" but wechat.static_token is empty",
				Fix: "set wechat.static_token (or CARDTILL_WECHAT_STATIC_TOKEN), or use token_source = \"hub\""}
		}
		return Finding{Name: f.Name, Status: Warn, Detail: "a fixed token (token_source = \"static\"): it expires within 2 hours",
			Fix: "for a real till use token_source = \"hub\" (or \"stable\" with an AppSecret)"}
	case "hub":
		if c.WeChat.HubURL == "" {
			return Finding{Name: f.Name, Status: Fail, Detail: "token_source = \"hub\" but wechat.hub_url is empty",
				Fix: "set wechat.hub_url to your hub, e.g. https://hub.example.com"}
		}
		if _, err := c.TerminalKey(d.getenv); err != nil {
			return Finding{Name: f.Name, Status: Fail, Detail: "terminal key: " + err.Error(),
				Fix: "on the hub run 'cardtill hub terminal add " + cmp.Or(c.Terminal.ID, "NAME") + "' and put the key in wechat.terminal_key_file (mode 0640, group cardtill)"}
		}
		return Finding{Name: f.Name, Status: OK, Detail: "terminal key readable (" + secretSource(c.WeChat.TerminalKeyFile, "CARDTILL_TERMINAL_KEY", d.getenv) + ")"}
	default: // "stable"
		if c.WeChat.AppID == "" {
			return Finding{Name: f.Name, Status: Fail, Detail: "token_source = \"stable\" but wechat.appid is empty",
				Fix: "set wechat.appid and wechat.secret_file, or use token_source = \"hub\" so this till holds no AppSecret"}
		}
		if _, err := c.WeChatSecret(d.getenv); err != nil {
			return Finding{Name: f.Name, Status: Fail, Detail: "AppSecret: " + err.Error(),
				Fix: "put the AppSecret in wechat.secret_file (mode 0640, group cardtill), or use token_source = \"hub\""}
		}
		return Finding{Name: f.Name, Status: OK, Detail: "AppSecret readable (" + secretSource(c.WeChat.SecretFile, "CARDTILL_WECHAT_SECRET", d.getenv) + ")"}
	}
}

func secretSource(file, env string, getenv func(string) string) string {
	if strings.TrimSpace(getenv(env)) != "" {
		return "from " + env
	}
	return "from " + file
}

// checkBolt checks the bbolt file at path; max = 0 means no size limit.
func (d *Doctor) checkBolt(name, path string, max int64) Finding {
	f := Finding{Name: name}
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		dir := filepath.Dir(path)
		if werr := dirWritable(dir); werr != nil {
			f.Status, f.Detail = Fail, fmt.Sprintf("%s does not exist and cannot be created: %v", path, werr)
			f.Fix = fmt.Sprintf("create %s owned by the user cardtill runs as (the package makes /var/lib/cardtill for user cardtill), or set store.path", dir)
			return f
		}
		f.Status, f.Detail = OK, path+" not created yet: the first 'cardtill run' creates it"
		return f
	}
	if err != nil {
		f.Status, f.Detail = Fail, fmt.Sprintf("%s: %v", path, err)
		f.Fix = "check the permissions of the folder holding store.path"
		return f
	}
	size := humanBytes(fi.Size())
	if max > 0 {
		size = fmt.Sprintf("%s of %s (store.max_size_mb)", humanBytes(fi.Size()), humanBytes(max))
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: d.cfg.Store.LockTimeout.Duration})
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		f.Status = Warn
		f.Detail = fmt.Sprintf("%s is held by a running cardtill, so only its size was checked: %s", path, size)
		f.Fix = "normal while cardtill runs; stop it (systemctl stop 'cardtill-till@*' or cardtill-hub) for a full check"
	case errors.Is(err, fs.ErrPermission):
		f.Status, f.Detail = Fail, fmt.Sprintf("%s: permission denied", path)
		f.Fix = "run doctor as the user cardtill runs as (sudo -u cardtill cardtill doctor), or fix the file's owner (chown cardtill:cardtill " + path + ")"
		return f
	case err != nil:
		f.Status, f.Detail = Fail, fmt.Sprintf("%s cannot be opened: %v", path, err)
		f.Fix = "the file is damaged or not a cardtill journal: restore the last backup (see the install guide), keeping the damaged file aside"
		return f
	default:
		cerr := db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				return err
			}
			return nil
		})
		_ = db.Close()
		if cerr != nil {
			f.Status, f.Detail = Fail, fmt.Sprintf("%s is inconsistent: %v", path, cerr)
			f.Fix = "stop the till, keep the file aside and restore the last backup (see the install guide)"
			return f
		}
		f.Status, f.Detail = OK, fmt.Sprintf("%s opens and is consistent; %s", path, size)
	}
	switch {
	case max <= 0:
	case fi.Size() >= max:
		f.Status = Warn
		f.Detail += "; FULL: offline acceptance is refused"
		f.Fix = "raise store.max_size_mb or lower store.retain_days, and make sure the queue drains (WeChat reachable)"
	case float64(fi.Size()) >= JournalWarnFraction*float64(max):
		f.Status = Warn
		f.Detail += "; nearly full"
		f.Fix = "raise store.max_size_mb or lower store.retain_days before offline acceptance stops"
	}
	return f
}

// checkLog checks that the till can write its log: `cardtill run` refuses
// to start when it cannot.
func (d *Doctor) checkLog() Finding {
	f := Finding{Name: "log"}
	file := d.cfg.Log.File
	if file == "-" {
		f.Status, f.Detail = OK, "to stderr (log.file = \"-\")"
		return f
	}
	if file == "" {
		file = filepath.Join(filepath.Dir(d.cfg.Store.Path), "cardtill.log")
	}
	var err error
	if _, serr := os.Stat(file); serr == nil {
		var lf *os.File
		if lf, err = os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0); err == nil {
			_ = lf.Close()
		}
	} else {
		err = dirWritable(filepath.Dir(file))
	}
	if err != nil {
		f.Status, f.Detail = Fail, fmt.Sprintf("%s cannot be written: %v", file, err)
		f.Fix = "make its folder writable by the user cardtill runs as, or set log.file"
		return f
	}
	f.Status, f.Detail = OK, file+" is writable"
	return f
}

// dirWritable reports whether a file could be created in dir.
func dirWritable(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", dir)
	}
	tmp, err := os.CreateTemp(dir, ".cardtill-doctor-*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	_ = tmp.Close()
	return os.Remove(name)
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// checkScanner opens the configured serial port once, with the configured
// settings, and closes it again.
func (d *Doctor) checkScanner(ctx context.Context) Finding {
	f := Finding{Name: "scanner"}
	sc := d.cfg.Scanner.Serial()
	if sc.Port == "" {
		f.Status, f.Detail = OK, "no serial port configured: keyboard-wedge scanning into the till screen"
		if seen := d.portsSeen(); seen != "" {
			f.Detail += "; serial ports seen: " + seen
		}
		return f
	}
	r, err := scanner.Open(ctx, sc, scanner.Options{})
	if err == nil {
		_ = r.Close()
		f.Status, f.Detail = OK, fmt.Sprintf("%s opens (%d baud, %s)", sc.Port, d.cfg.Scanner.Baud, d.cfg.Scanner.Terminator)
		return f
	}
	f.Status, f.Detail = Fail, err.Error()
	var oe *scanner.OpenError
	var ce *scanner.ConfigError
	switch {
	case errors.As(err, &oe) && oe.Kind == scanner.OpenBusy:
		f.Status = Warn
		f.Fix = "normal while 'cardtill run' holds it; otherwise find the program that does (fuser " + sc.Port + ") and stop it"
	case errors.As(err, &oe) && oe.Kind == scanner.OpenMissing:
		f.Fix = "plug the scanner in (USB serial/CDC mode) or correct scanner.port"
		if seen := d.portsSeen(); seen != "" {
			f.Fix += "; ports seen: " + seen
		} else {
			f.Fix += "; no serial ports are visible ('cardtill ports' lists them)"
		}
	case errors.As(err, &oe) && oe.Kind == scanner.OpenPermission:
		f.Fix = "the cardtill user must be in the port's group: usermod -a -G dialout cardtill (the package does this), then restart cardtill"
	case errors.As(err, &ce):
		f.Fix = advice.For(err) // fix scanner.KEY in the config
	default:
		f.Fix = "check scanner.port and the [scanner] settings against the scanner's manual; 'cardtill ports' lists the ports"
	}
	return f
}

func (d *Doctor) portsSeen() string {
	if d.listPorts == nil {
		return ""
	}
	ports, err := d.listPorts()
	if err != nil || len(ports) == 0 {
		return ""
	}
	names := make([]string, len(ports))
	for i, p := range ports {
		names[i] = p.Name
	}
	return strings.Join(names, ", ")
}

// dated is one HTTP answer's Date header and when the request was made.
type dated struct {
	from       string
	sent, recv time.Time
	date       string
}

// checkReach makes one GET to url. Any HTTP answer means reachable; its
// Date header feeds the clock check.
func (d *Doctor) checkReach(ctx context.Context, name, url string) (Finding, *dated) {
	f := Finding{Name: name}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		f.Status, f.Detail, f.Fix = Fail, fmt.Sprintf("bad URL %q", url), "correct the URL in the config"
		return f, nil
	}
	sent := d.now()
	resp, err := d.hc.Do(req)
	recv := d.now()
	if err != nil {
		f.Status, f.Detail = Fail, fmt.Sprintf("%s cannot be reached: %v", url, unwrapURLError(err))
		if name == "wechat" {
			f.Fix = "check the internet connection, DNS, proxy and firewall (HTTPS to " + url + ")"
			if d.cfg.Offline.Mode == "accept" {
				f.Status = Warn
				f.Fix += "; meanwhile the till accepts codes offline within [offline] limits"
			}
		} else {
			f.Fix = "check that the hub runs (systemctl status cardtill-hub) and that wechat.hub_url is right"
			if d.cfg.WeChat.TokenSource != "hub" {
				f.Status = Warn
			}
		}
		return f, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	f.Status = OK
	f.Detail = fmt.Sprintf("%s answered in %s", url, recv.Sub(sent).Round(time.Millisecond))
	if name == "hub" && resp.StatusCode != http.StatusOK {
		f.Status = Warn
		f.Detail = fmt.Sprintf("%s answered %s", url, resp.Status)
		f.Fix = "wechat.hub_url should be the hub's base URL (its " + hub.PathHealth + " answers ok); check any reverse proxy in front of it"
	}
	return f, &dated{from: name, sent: sent, recv: recv, date: resp.Header.Get("Date")}
}

// unwrapURLError drops the method and URL that *url.Error repeats.
func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && strings.HasPrefix(err.Error(), "Get ") {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// checkClock compares this machine's clock with the Date header of the
// first answer that had one. The header has one-second resolution and the
// answer was made somewhere between sent and recv, so the skew is measured
// from the middle and only beyond that uncertainty.
func checkClock(answers []dated) Finding {
	f := Finding{Name: "clock"}
	for _, a := range answers {
		remote, err := http.ParseTime(a.date)
		if err != nil {
			continue
		}
		mid := a.sent.Add(a.recv.Sub(a.sent) / 2)
		skew := mid.Sub(remote)
		slack := a.recv.Sub(a.sent)/2 + time.Second
		abs := skew
		if abs < 0 {
			abs = -abs
		}
		abs -= slack
		if abs < 0 {
			abs = 0
		}
		dir := "ahead of"
		if skew < 0 {
			dir = "behind"
		}
		switch {
		case abs >= skewFail:
			f.Status = Fail
			f.Detail = fmt.Sprintf("this machine's clock is %s %s %s's", abs.Round(time.Second), dir, a.from)
			f.Fix = "set the clock right and keep it right: timedatectl set-ntp true (Windows: w32tm /resync)"
		case abs >= skewWarn:
			f.Status = Warn
			f.Detail = fmt.Sprintf("this machine's clock is %s %s %s's", abs.Round(time.Second), dir, a.from)
			f.Fix = "enable time sync: timedatectl set-ntp true (Windows: w32tm /resync)"
		default:
			f.Status = OK
			f.Detail = fmt.Sprintf("within %s of %s's clock", skewWarn, a.from)
		}
		return f
	}
	f.Status = Warn
	f.Detail = "not checked: no answer with a Date header (WeChat and the hub unreachable)"
	f.Fix = "make WeChat or the hub reachable, then run doctor again"
	return f
}

// checkToken obtains an access token the way the till does (the shared
// builder newTokenSource, so doctor tests the till's own path), without
// forcing a refresh (so no other till's token is invalidated), and prints
// only its lifetime.
func (d *Doctor) checkToken(ctx context.Context) Finding {
	c := d.cfg
	f := Finding{Name: "token"}
	if c.WeChat.TokenSource == "static" {
		f.Status, f.Detail = Warn, "not checked: a fixed token is configured (token_source = \"static\")"
		f.Fix = "for a real till use token_source = \"hub\""
		return f
	}
	tokens, err := config.NewTokenSource(c, d.getenv, slog.New(slog.DiscardHandler), d.hc)
	if err != nil {
		f.Status, f.Detail, f.Fix = Fail, "not checked: "+err.Error(), "see the credentials finding"
		return f
	}
	return d.obtainToken(ctx, tokens, c.WeChat.TokenSource == "hub")
}

// obtainToken asks tokens for a token, bounded by doctor's HTTP timeout.
// viaHub says the source is the hub's token service (not WeChat).
func (d *Doctor) obtainToken(ctx context.Context, tokens wechat.TokenSource, viaHub bool) Finding {
	f := Finding{Name: "token"}
	from := "WeChat"
	if viaHub {
		from = "the hub"
	}
	tctx, cancel := context.WithTimeout(ctx, d.hc.Timeout)
	defer cancel()
	var exp time.Time
	var err error
	if et, ok := tokens.(wechat.ExpiringTokenSource); ok {
		_, exp, err = et.TokenExpiry(tctx)
	} else {
		_, err = tokens.Token(tctx)
	}
	if err != nil {
		return d.tokenRefused(err, viaHub)
	}
	f.Status, f.Detail = OK, from+" issued a token"
	if !exp.IsZero() {
		f.Detail += fmt.Sprintf(" (expires in %s)", exp.Sub(d.now()).Round(time.Second))
	}
	return f
}

// tokenRefused turns a token source's error into a finding that says what
// to do. Errors of package wechat never carry the secret or the token.
func (d *Doctor) tokenRefused(err error, viaHub bool) Finding {
	c := d.cfg
	f := Finding{Name: "token", Status: Fail, Detail: err.Error()}
	var ae *wechat.APIError
	var ue *wechat.UnknownError
	var he *wechat.HubError
	switch {
	case errors.As(err, &he):
		return d.hubTokenRefused(he)
	case errors.As(err, &ae):
		f.Detail = fmt.Sprintf("refused: errcode %d (%s)", ae.Code, ae.Msg)
		switch ae.Code {
		case wechat.CodeInvalidAppID, wechat.CodeInvalidAppSecret, wechat.CodeInvalidToken:
			if viaHub {
				f.Detail = "the hub refused this till's terminal key"
				f.Fix = "on the hub run 'cardtill hub terminal add " + cmp.Or(c.Terminal.ID, "NAME") + "' and put the new key in wechat.terminal_key_file"
			} else {
				f.Detail = fmt.Sprintf("WeChat refused: errcode %d (%s)", ae.Code, ae.Msg)
				f.Fix = "the appid or the AppSecret is wrong: copy both again from the WeChat admin console"
			}
		case wechat.CodeIPNotWhitelisted, 61004:
			f.Fix = "add this machine's IP to the AppID's IP whitelist in the WeChat admin console (a till can instead get its token from the hub: token_source = \"hub\")"
		default:
			if cl, _ := wechat.ClassOf(err); cl == wechat.ClassRetryable {
				f.Status, f.Fix = Warn, "WeChat is busy or a quota is reached: run doctor again in a few minutes"
			} else {
				f.Fix = "see WeChat's error code list; check the appid and the AppSecret"
			}
		}
	case errors.As(err, &ue) && (strings.HasPrefix(ue.Err.Error(), "HTTP ") || strings.Contains(ue.Err.Error(), "not JSON")):
		if viaHub {
			f.Fix = "check wechat.hub_url (the hub's base URL) and any reverse proxy in front of the hub"
		} else {
			f.Fix = "check api_base in the config and any proxy in between: that was not WeChat's answer"
		}
	default:
		if viaHub {
			f.Detail = "the hub cannot be reached: " + err.Error()
			if errors.As(err, &ue) {
				f.Detail = fmt.Sprintf("the hub cannot be reached: %v", unwrapURLError(ue.Err))
			}
			f.Fix = "check wechat.hub_url (" + c.WeChat.HubURL + ") and this PC's network and firewall towards it; ask HQ whether the hub runs (systemctl status cardtill-hub). Meanwhile scans follow the [offline] policy"
		} else {
			f.Fix = "make WeChat reachable (see the wechat finding)"
		}
		f.Status = d.outageStatus()
	}
	return f
}
