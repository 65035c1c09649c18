// Package config owns the one configuration file of a till or a hub:
// its TOML keys (a contract with outside tools), their defaults, the
// CARDTILL_* environment overrides, validation, and the errors that name
// the file, line and key of what is wrong and say how to fix it.
package config

import (
	"bytes"
	"cardtill/fleet"
	_ "embed"
	"encoding"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"cardtill/pin"
	"cardtill/sync"
	"cardtill/tui"
)

// Example is the commented sample printed by `cardtill config example`
// and installed by the packages as /etc/cardtill/config.toml; a test keeps
// it equal to Default, key for key.
//
//go:embed config.example.toml
var Example string

// Config is the one configuration file of a till or a hub. The TOML key
// names are a contract that outside tools rely on: do not rename them.
type Config struct {
	WeChat   WeChatConfig   `toml:"wechat"`
	Store    StoreConfig    `toml:"store"`
	Terminal TerminalConfig `toml:"terminal"`
	Offline  OfflineConfig  `toml:"offline"`
	Sync     SyncConfig     `toml:"sync"`
	Scanner  ScannerConfig  `toml:"scanner"`
	UI       UIConfig       `toml:"ui"`
	Shift    ShiftConfig    `toml:"shift"`
	Printer  PrinterConfig  `toml:"printer"`
	Log      LogConfig      `toml:"log"`
	Fleet    FleetConfig    `toml:"fleet"`
	Hub      HubConfig      `toml:"hub"`

	// Path is the file the config was read from ("" for built-in defaults).
	Path string `toml:"-"`
}

// WeChatConfig says how the till reaches WeChat and where its token comes from.
type WeChatConfig struct {
	APIBase         string   `toml:"api_base"`
	TokenSource     string   `toml:"token_source"` // "stable" | "hub" | "static"
	AppID           string   `toml:"appid"`
	SecretFile      string   `toml:"secret_file"`
	StaticToken     string   `toml:"static_token" secret:"true"`
	HubURL          string   `toml:"hub_url"`
	TerminalKeyFile string   `toml:"terminal_key_file"`
	CustomCodeCards []string `toml:"custom_code_cards"`
	// Timeout bounds one request while a cashier waits.
	Timeout Duration `toml:"timeout"`
	// SyncTimeout bounds one request of the background drain.
	SyncTimeout Duration `toml:"sync_timeout"`
}

// StoreConfig locates the journal.
type StoreConfig struct {
	Path       string `toml:"path"`
	RetainDays int    `toml:"retain_days"`
	// UsedCodeDays is how long a code used here stays refused as used
	// here after retention pruned its redemption (its tombstone).
	UsedCodeDays int      `toml:"used_code_days"`
	MaxSizeMB    int      `toml:"max_size_mb"`
	LockTimeout  Duration `toml:"lock_timeout"`
}

// TerminalConfig names this till.
type TerminalConfig struct {
	ID        string `toml:"id"`
	StoreName string `toml:"store_name"`
}

// OfflineConfig is the merchant's offline acceptance policy.
type OfflineConfig struct {
	Mode         string   `toml:"mode"` // "accept" | "refuse"
	MaxPerShift  int      `toml:"max_per_shift"`
	MaxAge       Duration `toml:"max_age"`
	AllowCards   []string `toml:"allow_cards"`
	UnknownCodes string   `toml:"unknown_codes"` // "accept" | "refuse"
	// CodePattern is the regular expression a code must match to be
	// accepted offline; "" is sync.DefaultCodePattern (10 to 20 digits).
	CodePattern string `toml:"code_pattern"`
	// ManagerPINHash is the argon2id hash of the manager's PIN ('cardtill
	// pin hash' prints the line): with it, the till screen offers a
	// manager's override at max_per_shift. "" = no override.
	ManagerPINHash string `toml:"manager_pin_hash" secret:"true"`
	// ManagerName is who an override is journaled as ("" = "manager").
	ManagerName string `toml:"manager_name"`
	// OverrideDefault is how many more an override allows unless the
	// manager types another number.
	OverrideDefault int `toml:"override_default"`
}

// SyncConfig tunes the outbox drain.
type SyncConfig struct {
	Concurrency int      `toml:"concurrency"`
	Interval    Duration `toml:"interval"`
	MaxBackoff  Duration `toml:"max_backoff"`
	// QuietPeriod is how long an in-doubt consume waits before it is
	// resolved by a query; it must exceed wechat.timeout and sync_timeout.
	QuietPeriod Duration `toml:"quiet_period"`
	// ProbeInterval is how often the till probes WeChat while idle (no
	// code, no quota), so the status bar is right without a scan.
	ProbeInterval Duration `toml:"probe_interval"`
}

// FleetConfig tunes the till's reports to the hub (package fleet): sent
// only with wechat.hub_url and a terminal key.
type FleetConfig struct {
	// Interval between heartbeats; a till silent for three is marked at HQ.
	Interval Duration `toml:"interval"`
}

// ScannerConfig describes a serial barcode scanner. An empty Port means
// keyboard (wedge) input only.
type ScannerConfig struct {
	Port         string   `toml:"port"`
	Baud         int      `toml:"baud"`
	DataBits     int      `toml:"data_bits"`
	Parity       string   `toml:"parity"` // "none" | "odd" | "even" | "mark" | "space"
	StopBits     int      `toml:"stop_bits"`
	Terminator   string   `toml:"terminator"` // "cr" | "lf" | "crlf" | "etx" | "tab" | "none"
	FrameTimeout Duration `toml:"frame_timeout"`
	Prefix       string   `toml:"prefix"`
	Suffix       string   `toml:"suffix"`
	MaxLength    int      `toml:"max_length"`
}

// UIConfig tunes the till screen.
type UIConfig struct {
	Lang    string `toml:"lang"` // "zh" | "en" | "" (from the locale)
	Confirm bool   `toml:"confirm"`
	Bell    bool   `toml:"bell"`
	Recent  int    `toml:"recent"`
	// ScanGap is the longest pause between two keys of a keyboard-wedge
	// scanner's code: keys that come faster and end in Enter are a scan,
	// never an answer to a dialog.
	ScanGap Duration `toml:"scan_gap"`
	// RepeatWindow: the same code again this soon after the till's answer
	// is a double read: the answer again, marked, nothing journaled.
	RepeatWindow Duration `toml:"repeat_window"`
	// ClearAfter: the answer panel returns to "ready" this long after an
	// answer, so a missed scan never leaves the last customer's ✔.
	ClearAfter Duration `toml:"clear_after"`
	// Console: "auto" draws ASCII and English on the Linux console
	// (TERM=linux, no CJK font), "unicode" always draws Unicode (a
	// framebuffer terminal such as fbterm that keeps TERM=linux), "ascii"
	// always ASCII.
	Console string `toml:"console"`
}

// PrinterConfig is the ESC/POS receipt printer (package printer).
type PrinterConfig struct {
	// Port is its device: /dev/usb/lp0 (USB), a serial port
	// (/dev/serial/by-id/..., COM3) with baud > 0; "" = no printer.
	Port string `toml:"port"`
	// Baud > 0 opens port as a serial port at that speed (8N1); 0 writes
	// port as a device file.
	Baud int `toml:"baud"`
	// Width is the paper's characters per line: 48 (80 mm) or 32 (58 mm).
	Width int `toml:"width"`
	// Timeout bounds one print; a printer slower than that is reported
	// as not answering (the till never waits for it).
	Timeout Duration `toml:"timeout"`
}

// ShiftConfig says what happens when a code is scanned with no open shift.
type ShiftConfig struct {
	OnScanWithoutShift string `toml:"on_scan_without_shift"` // "open" | "ask"
	DefaultCashier     string `toml:"default_cashier"`
}

// LogConfig places the rotated log file.
type LogConfig struct {
	File       string `toml:"file"` // "" = next to the journal; "-" = stderr
	Level      string `toml:"level"`
	MaxSizeMB  int    `toml:"max_size_mb"`
	MaxBackups int    `toml:"max_backups"`
	MaxAgeDays int    `toml:"max_age_days"`
}

// HubConfig configures `cardtill hub`. Key names are a contract.
type HubConfig struct {
	Listen                 string   `toml:"listen"`
	AppID                  string   `toml:"appid"`
	SecretFile             string   `toml:"secret_file"`
	Token                  string   `toml:"token" secret:"true"`
	EncodingAESKey         string   `toml:"encoding_aes_key" secret:"true"`
	PreviousToken          string   `toml:"previous_token" secret:"true"`
	PreviousEncodingAESKey string   `toml:"previous_encoding_aes_key" secret:"true"`
	TimestampWindow        Duration `toml:"timestamp_window"`
	// RequireEncryption: with encoding_aes_key set, take only encrypted
	// pushes (a valid msg_signature over Encrypt); a plaintext push's
	// signature covers no body. No effect without a key.
	RequireEncryption bool   `toml:"require_encryption"`
	StorePath         string `toml:"store_path"`
	// DatabaseURL puts the hub's store in PostgreSQL (several hubs share
	// it); empty keeps the bbolt file at StorePath.
	DatabaseURL string `toml:"database_url" secret:"true"`
	TLSCert     string `toml:"tls_cert"`
	TLSKey      string `toml:"tls_key"`
	APIBase     string `toml:"api_base"`
	// TrustedProxies are the reverse proxies whose X-Forwarded-For /
	// X-Real-IP name the client (empty = trust none).
	TrustedProxies []IPPrefix `toml:"trusted_proxies"`
	// BehindProxy allows plain HTTP (no tls_cert) on an address that is
	// not loopback: the hub is behind a reverse proxy that terminates TLS.
	BehindProxy bool `toml:"behind_proxy"`
	// AdminListen is a second address serving only the web dashboard
	// (empty: the dashboard is on Listen only).
	AdminListen string `toml:"admin_listen"`
}

// Default hub addresses: HTTPS on every interface, plain HTTP on loopback
// only.
const (
	hubListenTLS   = ":8443"
	hubListenPlain = "127.0.0.1:8443"
)

// HubListenAddr is where 'cardtill hub' listens: hub.listen, or by default
// ":8443" with tls_cert and "127.0.0.1:8443" without. Plain HTTP on an
// address that is not loopback would hand tokens and terminal keys to the
// network in the clear: it needs behind_proxy = true and the proxy in
// trusted_proxies.
func (c *Config) HubListenAddr() (string, error) {
	h := c.Hub
	addr := h.Listen
	if addr == "" {
		addr = hubListenPlain
		if h.TLSCert != "" {
			addr = hubListenTLS
		}
	}
	if h.TLSCert != "" {
		return addr, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", &Error{Path: c.Path, Key: "hub.listen", Msg: fmt.Sprintf("%q is not host:port (e.g. \"127.0.0.1:8443\")", addr)}
	}
	if IsLoopbackHost(host) {
		return addr, nil
	}
	if !h.BehindProxy {
		return "", &Error{Path: c.Path, Key: "hub.listen", Msg: fmt.Sprintf("%q serves plain HTTP (no hub.tls_cert) beyond this machine: set hub.tls_cert and hub.tls_key, or listen on 127.0.0.1, or set hub.behind_proxy = true and list the proxy in hub.trusted_proxies", addr)}
	}
	if len(h.TrustedProxies) == 0 {
		return "", &Error{Path: c.Path, Key: "hub.trusted_proxies", Msg: "empty with hub.behind_proxy = true: list the reverse proxy's address (e.g. [\"10.0.0.5\"])"}
	}
	return addr, nil
}

// HubAdminListenAddr is hub.admin_listen checked like hub.listen: plain
// HTTP beyond loopback only behind a proxy. "" when not set.
func (c *Config) HubAdminListenAddr() (string, error) {
	addr := c.Hub.AdminListen
	if addr == "" {
		return "", nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", &Error{Path: c.Path, Key: "hub.admin_listen", Msg: fmt.Sprintf("%q is not host:port (e.g. \"127.0.0.1:8444\")", addr)}
	}
	if c.Hub.TLSCert == "" && !IsLoopbackHost(host) && !c.Hub.BehindProxy {
		return "", &Error{Path: c.Path, Key: "hub.admin_listen", Msg: fmt.Sprintf("%q serves plain HTTP (no hub.tls_cert) beyond this machine: passwords and sessions would cross the network in the clear; set hub.tls_cert and hub.tls_key, or listen on 127.0.0.1, or set hub.behind_proxy = true", addr)}
	}
	return addr, nil
}

// IsLoopbackHost: "localhost" or a loopback IP.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// IPPrefix is an address range written as a CIDR ("10.0.0.0/8",
// "2001:db8::/32") or a single address ("127.0.0.1", a /32 or /128).
type IPPrefix struct{ netip.Prefix }

var _ encoding.TextUnmarshaler = (*IPPrefix)(nil)

// UnmarshalText parses a CIDR or a single IP address.
func (p *IPPrefix) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if strings.Contains(s, "/") {
		v, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("%q is not a CIDR range: write it like \"10.0.0.0/8\" or \"2001:db8::/32\"", string(b))
		}
		p.Prefix = v.Masked()
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return fmt.Errorf("%q is not an IP address or CIDR range: write it like \"127.0.0.1\" or \"10.0.0.0/8\"", string(b))
	}
	a = a.Unmap()
	p.Prefix = netip.PrefixFrom(a, a.BitLen())
	return nil
}

// MarshalText writes the range back as a CIDR.
func (p IPPrefix) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Prefixes returns the ranges as netip.Prefix values.
func Prefixes(ps []IPPrefix) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = p.Prefix
	}
	return out
}

// Duration is a time.Duration written as "5s", "10m", "4h" in the file.
type Duration struct{ time.Duration }

var _ encoding.TextUnmarshaler = (*Duration)(nil)

// UnmarshalText parses a Go duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration: write it like \"5s\", \"10m\" or \"4h\"", string(b))
	}
	if v < 0 {
		return fmt.Errorf("%q is negative", string(b))
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration back as a string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Error is a problem with the configuration: it names the file, the key
// (and line when known) and says what to do.
type Error struct {
	Path string // file, or "environment"
	Line int    // 0 when unknown
	Key  string // e.g. "offline.mode"
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config")
	if e.Path != "" {
		b.WriteString(" ")
		b.WriteString(e.Path)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
	}
	if e.Key != "" {
		fmt.Fprintf(&b, ": %s", e.Key)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// stateDir is where the journal and logs live by default.
func stateDir() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(programData(), "cardtill")
	}
	return "/var/lib/cardtill"
}

func programData() string {
	if p := os.Getenv("ProgramData"); p != "" {
		return p
	}
	return `C:\ProgramData`
}

// DefaultPath is where the config lives when neither --config nor
// CARDTILL_CONFIG says otherwise.
func DefaultPath() string {
	if runtime.GOOS == "windows" {
		return filepath.Join(programData(), "cardtill", "config.toml")
	}
	return "/etc/cardtill/config.toml"
}

// Default returns the configuration used for every key the file
// leaves out.
func Default() *Config {
	return &Config{
		WeChat: WeChatConfig{
			APIBase:     "https://api.weixin.qq.com",
			TokenSource: "stable",
			Timeout:     Duration{4 * time.Second},
			SyncTimeout: Duration{15 * time.Second},
		},
		Store: StoreConfig{
			Path:         filepath.Join(stateDir(), "journal.db"),
			RetainDays:   90,
			UsedCodeDays: 400,
			MaxSizeMB:    1024,
			LockTimeout:  Duration{2 * time.Second},
		},
		Offline: OfflineConfig{
			Mode:            "accept",
			MaxPerShift:     20,
			MaxAge:          Duration{4 * time.Hour},
			AllowCards:      []string{},
			UnknownCodes:    "accept",
			OverrideDefault: 10,
		},
		Sync: SyncConfig{
			Concurrency:   8,
			Interval:      Duration{30 * time.Second},
			MaxBackoff:    Duration{5 * time.Minute},
			QuietPeriod:   Duration{20 * time.Second},
			ProbeInterval: Duration{sync.DefaultProbeInterval},
		},
		Fleet: FleetConfig{Interval: Duration{fleet.DefaultInterval}},
		Scanner: ScannerConfig{
			Baud:         9600,
			DataBits:     8,
			Parity:       "none",
			StopBits:     1,
			Terminator:   "cr",
			FrameTimeout: Duration{100 * time.Millisecond},
			MaxLength:    512,
		},
		UI:      UIConfig{Bell: true, Recent: 50, ScanGap: Duration{tui.DefaultScanGap}, RepeatWindow: Duration{tui.DefaultRepeatWindow}, ClearAfter: Duration{tui.DefaultClearAfter}, Console: "auto"},
		Shift:   ShiftConfig{OnScanWithoutShift: "open"},
		Printer: PrinterConfig{Width: 48, Timeout: Duration{5 * time.Second}},
		Log:     LogConfig{Level: "info", MaxSizeMB: 10, MaxBackups: 5, MaxAgeDays: 30},
		Hub: HubConfig{
			TimestampWindow:   Duration{5 * time.Minute},
			RequireEncryption: true,
			StorePath:         filepath.Join(stateDir(), "hub.db"),
			APIBase:           "https://api.weixin.qq.com",
		},
	}
}

// ResolvePath picks the file: the flag, else CARDTILL_CONFIG, else the
// platform default. explicit reports whether the user named it.
func ResolvePath(flag string, getenv func(string) string) (path string, explicit bool) {
	if flag != "" {
		return flag, true
	}
	if p := getenv("CARDTILL_CONFIG"); p != "" {
		return p, true
	}
	return DefaultPath(), false
}

// Load reads path over the defaults, applies CARDTILL_* environment
// overrides and validates the result.
func Load(path string, getenv func(string) string) (*Config, error) {
	cfg := Default()
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &Error{Path: path, Msg: "file not found: create it with 'cardtill config example > " + path + "' and edit it, or pass --config FILE"}
		}
		return nil, &Error{Path: path, Msg: fmt.Sprintf("cannot read: %v", err)}
	}
	if err := decodeConfig(path, data, cfg); err != nil {
		return nil, err
	}
	cfg.Path = path
	if err := applyEnv(cfg, getenv); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

func decodeConfig(path string, data []byte, cfg *Config) error {
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(cfg)
	if err == nil {
		return nil
	}
	var sm *toml.StrictMissingError
	if errors.As(err, &sm) && len(sm.Errors) > 0 {
		de := sm.Errors[0]
		line, _ := de.Position()
		return &Error{Path: path, Line: line, Key: strings.Join(de.Key(), "."),
			Msg: "unknown key: check its spelling and section; 'cardtill config example' lists every key"}
	}
	var de *toml.DecodeError
	if !errors.As(err, &de) {
		// go-toml hands a non-text value (quiet_period = 5) to our own
		// types' UnmarshalText as text and returns their refusal without
		// its key: find the key by checking the document against the
		// Config's types.
		if key, refusal := findRefusal(data); key != nil {
			return &Error{Path: path, Line: lineOfKey(data, key), Key: strings.Join(key, "."), Msg: refusal.Error()}
		}
		return &Error{Path: path, Msg: err.Error()}
	}
	line, _ := de.Position()
	key := de.Key()
	if t, ok := fieldAt(key); ok {
		if raw, ok := rawAt(data, key); ok {
			return &Error{Path: path, Line: line, Key: strings.Join(key, "."), Msg: valueProblem(t, raw)}
		}
	}
	// A TOML syntax error (no key), or a value TOML itself cannot hold
	// (an integer beyond 64 bits): go-toml's own words say what is wrong.
	msg := strings.TrimPrefix(de.Error(), "toml: ")
	if len(key) == 0 {
		msg += ": fix the TOML syntax"
	}
	return &Error{Path: path, Line: line, Key: strings.Join(key, "."), Msg: msg}
}

// fieldAt is the Go type of the Config field a TOML key path names.
func fieldAt(key []string) (reflect.Type, bool) {
	t := reflect.TypeFor[Config]()
	for _, k := range key {
		if t.Kind() != reflect.Struct {
			return nil, false
		}
		f, ok := fieldByTOML(t, k)
		if !ok {
			return nil, false
		}
		t = f.Type
	}
	return t, len(key) > 0
}

func fieldByTOML(t reflect.Type, name string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if f := t.Field(i); tomlName(f) == name {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

// rawAt is the value the file gives a key path, as TOML decodes it
// without a Go type (string, int64, float64, bool, []any, map, time).
func rawAt(data []byte, key []string) (any, bool) {
	var v any
	if toml.Unmarshal(data, &v) != nil {
		return nil, false
	}
	for _, k := range key {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// findRefusal walks the document beside the Config's types and returns
// the first key (in file order of sections and keys, sorted) whose value
// one of our own types refuses, with the refusal.
func findRefusal(data []byte) ([]string, error) {
	var doc map[string]any
	if toml.Unmarshal(data, &doc) != nil {
		return nil, nil
	}
	return walkRefusal(reflect.TypeFor[Config](), doc, nil)
}

func walkRefusal(t reflect.Type, m map[string]any, at []string) ([]string, error) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		f, ok := fieldByTOML(t, k)
		if !ok {
			continue
		}
		key := append(slices.Clone(at), k)
		switch v := m[k].(type) {
		case map[string]any:
			if f.Type.Kind() == reflect.Struct && !reflect.PointerTo(f.Type).Implements(textUnmarshaler) {
				if bad, err := walkRefusal(f.Type, v, key); bad != nil {
					return bad, err
				}
			}
		case []any:
			if f.Type.Kind() == reflect.Slice {
				for _, it := range v {
					if err := refusedScalar(f.Type.Elem(), it); err != nil {
						return key, err
					}
				}
			}
		default:
			if err := refusedScalar(f.Type, v); err != nil {
				return key, err
			}
		}
	}
	return nil, nil
}

// refusedScalar is refusedText for any scalar, as go-toml passes it: its
// text.
func refusedScalar(t reflect.Type, raw any) error {
	switch raw.(type) {
	case []any, map[string]any:
		return nil
	case string:
		return refusedText(t, raw)
	}
	return refusedText(t, fmt.Sprint(raw))
}

// lineOfKey is the line of key (section and name) in the file, from
// go-toml's parser (0 when not found).
func lineOfKey(data []byte, key []string) int {
	var p unstable.Parser
	p.Reset(data)
	var table []string
	for p.NextExpression() {
		e := p.Expression()
		var names []string
		var first *unstable.Node
		for it := e.Key(); it.Next(); {
			n := it.Node()
			if first == nil {
				first = n
			}
			names = append(names, string(n.Data))
		}
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			table = names
		case unstable.KeyValue:
			if first != nil && slices.Equal(append(slices.Clone(table), names...), key) {
				return p.Shape(first.Raw).Start.Line
			}
		}
	}
	return 0
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// valueProblem says why the value raw does not fit a field of type t:
// the refusal of our own type (a duration, an IP range) when TOML gave it
// text, else what the key wants.
func valueProblem(t reflect.Type, raw any) string {
	if err := refusedText(t, raw); err != nil {
		return err.Error()
	}
	if t.Kind() == reflect.Slice {
		if items, ok := raw.([]any); ok {
			for _, it := range items {
				if err := refusedText(t.Elem(), it); err != nil {
					return err.Error()
				}
			}
		}
	}
	return fmt.Sprintf("%s is %s, not %s: give the key a value of the right type (see 'cardtill config example')", tomlShow(raw), tomlKind(raw), wants(t))
}

// refusedText runs t's own UnmarshalText on raw when raw is text and t
// parses text, and returns its refusal.
func refusedText(t reflect.Type, raw any) error {
	s, ok := raw.(string)
	if !ok || !reflect.PointerTo(t).Implements(textUnmarshaler) {
		return nil
	}
	return reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s))
}

func tomlKind(raw any) string {
	switch raw.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a decimal number"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case map[string]any:
		return "a table"
	}
	return "a date or time"
}

func tomlShow(raw any) string {
	switch v := raw.(type) {
	case string:
		return strconv.Quote(v)
	case []any, map[string]any:
		return "the value"
	}
	return fmt.Sprint(raw)
}

// wants describes the values a field of type t takes, in the words of
// the example config.
func wants(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Duration]():
		return `a duration in quotes (like "30s", "4h")`
	case reflect.TypeFor[IPPrefix]():
		return `an IP address or CIDR range in quotes (like "10.0.0.0/8")`
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		return "a whole number (type int)"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "text in quotes"
	case reflect.Slice:
		if t.Elem() == reflect.TypeFor[IPPrefix]() {
			return `a list of IP addresses or CIDR ranges (like ["10.0.0.0/8", "127.0.0.1"])`
		}
		return `a list of texts in quotes (like ["a", "b"])`
	}
	return "a value of type " + t.String()
}

func tomlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	return name
}

// applyEnv overrides any scalar key from CARDTILL_<SECTION>_<KEY>, e.g.
// CARDTILL_OFFLINE_MODE=refuse. Lists take comma-separated values.
func applyEnv(cfg *Config, getenv func(string) string) error {
	rv := reflect.ValueOf(cfg).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		sec := rt.Field(i)
		secName := tomlName(sec)
		if secName == "" || secName == "-" {
			continue
		}
		sv := rv.Field(i)
		for j := 0; j < sec.Type.NumField(); j++ {
			f := sec.Type.Field(j)
			key := tomlName(f)
			env := "CARDTILL_" + strings.ToUpper(secName) + "_" + strings.ToUpper(key)
			val := getenv(env)
			if val == "" {
				continue
			}
			if err := setField(sv.Field(j), val); err != nil {
				return &Error{Path: "environment", Key: secName + "." + key,
					Msg: fmt.Sprintf("%s: %v", env, err)}
			}
		}
	}
	return nil
}

func setField(v reflect.Value, s string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(s))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("%q is not a whole number", s)
		}
		v.SetInt(int64(n))
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		v.SetBool(b)
	case reflect.Slice:
		list := reflect.MakeSlice(v.Type(), 0, 0)
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p == "" {
				continue
			}
			e := reflect.New(v.Type().Elem()).Elem()
			if err := setField(e, p); err != nil {
				return err
			}
			list = reflect.Append(list, e)
		}
		v.Set(list)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

// Validate checks values that are wrong whatever the command.
func (c *Config) Validate() error {
	bad := func(key, msg string) error { return &Error{Path: c.Path, Key: key, Msg: msg} }
	oneOf := func(key, v string, allowed ...string) error {
		if slices.Contains(allowed, v) {
			return nil
		}
		return bad(key, fmt.Sprintf("%q is not allowed: use one of %s", v, strings.Join(quoteAll(allowed), ", ")))
	}
	checks := []error{
		oneOf("wechat.token_source", c.WeChat.TokenSource, "stable", "hub", "static"),
		oneOf("offline.mode", c.Offline.Mode, "accept", "refuse"),
		oneOf("offline.unknown_codes", c.Offline.UnknownCodes, "accept", "refuse"),
		oneOf("scanner.terminator", c.Scanner.Terminator, "cr", "lf", "crlf", "etx", "tab", "none"),
		oneOf("scanner.parity", c.Scanner.Parity, "none", "odd", "even", "mark", "space"),
		oneOf("ui.console", c.UI.Console, "auto", "unicode", "ascii"),
		oneOf("ui.lang", c.UI.Lang, "", "zh", "en"),
		oneOf("shift.on_scan_without_shift", c.Shift.OnScanWithoutShift, "open", "ask"),
		oneOf("log.level", strings.ToLower(c.Log.Level), "debug", "info", "warn", "error"),
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	switch {
	case c.WeChat.APIBase == "" || !(strings.HasPrefix(c.WeChat.APIBase, "https://") || strings.HasPrefix(c.WeChat.APIBase, "http://")):
		return bad("wechat.api_base", fmt.Sprintf("%q must be an http(s) URL such as https://api.weixin.qq.com", c.WeChat.APIBase))
	case c.WeChat.Timeout.Duration <= 0:
		return bad("wechat.timeout", "must be more than 0, e.g. \"4s\"")
	case c.WeChat.SyncTimeout.Duration <= 0:
		return bad("wechat.sync_timeout", "must be more than 0, e.g. \"15s\"")
	case c.Sync.QuietPeriod.Duration <= c.WeChat.Timeout.Duration || c.Sync.QuietPeriod.Duration <= c.WeChat.SyncTimeout.Duration:
		return bad("sync.quiet_period", fmt.Sprintf("%s must be longer than wechat.timeout (%s) and wechat.sync_timeout (%s), so a lost consume cannot still land when it is checked",
			c.Sync.QuietPeriod, c.WeChat.Timeout, c.WeChat.SyncTimeout))
	case c.Sync.ProbeInterval.Duration < time.Second || c.Sync.ProbeInterval.Duration > 10*time.Minute:
		return bad("sync.probe_interval", fmt.Sprintf("%s is out of range: use 1s to 10m (default %s)", c.Sync.ProbeInterval, sync.DefaultProbeInterval))
	case c.Fleet.Interval.Duration < 5*time.Second || c.Fleet.Interval.Duration > time.Hour:
		return bad("fleet.interval", fmt.Sprintf("%s is out of range: use 5s to 1h (default %s)", c.Fleet.Interval, fleet.DefaultInterval))
	case c.Sync.Concurrency < 1 || c.Sync.Concurrency > 64:
		return bad("sync.concurrency", fmt.Sprintf("%d is out of range: use 1 to 64", c.Sync.Concurrency))
	case c.Offline.CodePattern != "" && !compiles(c.Offline.CodePattern):
		_, err := regexp.Compile(c.Offline.CodePattern)
		return bad("offline.code_pattern", fmt.Sprintf("%q is not a regular expression (%v): e.g. \"^([0-9]{10,20}|CUST-[0-9]{4})$\"", c.Offline.CodePattern, err))
	case c.Offline.MaxPerShift < 0:
		return bad("offline.max_per_shift", "must be 0 or more (0 = no offline acceptance)")
	case c.Offline.ManagerPINHash != "" && pin.Parse(c.Offline.ManagerPINHash) != nil:
		return bad("offline.manager_pin_hash", fmt.Sprintf("is not usable (%v): paste the line 'cardtill pin hash' prints", pin.Parse(c.Offline.ManagerPINHash)))
	case c.Offline.OverrideDefault < 1 || c.Offline.OverrideDefault > sync.MaxOverrideExtra:
		return bad("offline.override_default", fmt.Sprintf("%d is out of range: use 1 to %d", c.Offline.OverrideDefault, sync.MaxOverrideExtra))
	case utf8.RuneCountInString(c.Offline.ManagerName) > 64 || strings.ContainsFunc(c.Offline.ManagerName, unicode.IsControl):
		return bad("offline.manager_name", "must be plain text of at most 64 characters")
	case c.Store.Path == "":
		return bad("store.path", "must name the journal file, e.g. /var/lib/cardtill/journal.db")
	case c.Store.RetainDays < 1:
		return bad("store.retain_days", "must be at least 1")
	case c.Store.UsedCodeDays < c.Store.RetainDays:
		return bad("store.used_code_days", fmt.Sprintf("%d is less than store.retain_days (%d): a code used here must stay refused at least as long as its redemption is kept (default 400, longer than a coupon is valid)", c.Store.UsedCodeDays, c.Store.RetainDays))
	case c.Store.MaxSizeMB < 16:
		return bad("store.max_size_mb", "must be at least 16")
	case c.Scanner.Baud <= 0:
		return bad("scanner.baud", "must be a positive baud rate such as 9600 or 115200")
	case c.Scanner.DataBits < 5 || c.Scanner.DataBits > 8:
		return bad("scanner.data_bits", "must be 5, 6, 7 or 8")
	case c.Scanner.StopBits != 1 && c.Scanner.StopBits != 2:
		return bad("scanner.stop_bits", "must be 1 or 2")
	case c.Scanner.MaxLength < 20 || c.Scanner.MaxLength > 4096:
		return bad("scanner.max_length", "must be between 20 and 4096")
	case c.Scanner.Terminator == "none" && c.Scanner.FrameTimeout.Duration <= 0:
		return bad("scanner.frame_timeout", "must be set (e.g. \"100ms\") when terminator = \"none\"")
	case c.UI.Recent < 1 || c.UI.Recent > 1000:
		return bad("ui.recent", "must be between 1 and 1000")
	case c.UI.ClearAfter.Duration < time.Second || c.UI.ClearAfter.Duration > time.Hour:
		return bad("ui.clear_after", fmt.Sprintf("%s is out of range: use 1s to 1h (default %s)", c.UI.ClearAfter, tui.DefaultClearAfter))
	case c.UI.RepeatWindow.Duration < 100*time.Millisecond || c.UI.RepeatWindow.Duration > time.Minute:
		return bad("ui.repeat_window", fmt.Sprintf("%s is out of range: use 100ms to 1m (default %s)", c.UI.RepeatWindow, tui.DefaultRepeatWindow))
	case c.UI.ScanGap.Duration < time.Millisecond || c.UI.ScanGap.Duration > 200*time.Millisecond:
		return bad("ui.scan_gap", fmt.Sprintf("%s is out of range: use 1ms to 200ms (scanners type a key every few ms, people every 50 ms or more; default %s)", c.UI.ScanGap, tui.DefaultScanGap))
	case c.Printer.Width != 32 && c.Printer.Width != 48:
		return bad("printer.width", fmt.Sprintf("%d: use 48 for 80 mm paper or 32 for 58 mm", c.Printer.Width))
	case c.Printer.Baud < 0:
		return bad("printer.baud", "must be 0 (a device file such as /dev/usb/lp0) or a serial speed such as 9600")
	case c.Printer.Timeout.Duration < 100*time.Millisecond || c.Printer.Timeout.Duration > time.Minute:
		return bad("printer.timeout", fmt.Sprintf("%s is out of range: use 100ms to 1m (default 5s)", c.Printer.Timeout))
	case (c.Hub.TLSCert == "") != (c.Hub.TLSKey == ""):
		return bad("hub.tls_cert", "set both tls_cert and tls_key, or neither (plain HTTP behind a reverse proxy)")
	}
	return nil
}

// CodeRegexp is [offline] code_pattern compiled (nil: the engine's
// default); Validate has checked that it compiles.
func (o OfflineConfig) CodeRegexp() *regexp.Regexp {
	if o.CodePattern == "" {
		return nil
	}
	re, err := regexp.Compile(o.CodePattern)
	if err != nil {
		return nil
	}
	return re
}

func compiles(expr string) bool { _, err := regexp.Compile(expr); return err == nil }

func quoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strconv.Quote(v)
	}
	return out
}

// readSecret returns a secret from the environment variable env, else from
// file (key names the config key for error messages). The secret itself
// never appears in an error.
func readSecret(key, file, env string, getenv func(string) string) (string, error) {
	if v := strings.TrimSpace(getenv(env)); v != "" {
		return v, nil
	}
	if file == "" {
		return "", &Error{Key: key, Msg: fmt.Sprintf("not set: point %s at a file holding the secret, readable only by the account cardtill runs as (Linux packages: root:cardtill, mode 0640), or set %s", key, env)}
	}
	fi, err := os.Stat(file)
	if err != nil {
		return "", &Error{Key: key, Msg: fmt.Sprintf("cannot read %s: %v: create it or fix the path", file, errors.Unwrap(err))}
	}
	if fi.IsDir() {
		return "", &Error{Key: key, Msg: fmt.Sprintf("%s is a directory: point it at the file holding the secret", file)}
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", &Error{Key: key, Msg: fmt.Sprintf("cannot read %s: %v: check its permissions (the cardtill user must be able to read it)", file, errors.Unwrap(err))}
	}
	v := strings.TrimSpace(string(b))
	if v == "" {
		return "", &Error{Key: key, Msg: fmt.Sprintf("%s is empty: put the secret in it", file)}
	}
	return v, nil
}

// WeChatSecret is the AppSecret for token_source = "stable".
func (c *Config) WeChatSecret(getenv func(string) string) (string, error) {
	return readSecret("wechat.secret_file", c.WeChat.SecretFile, "CARDTILL_WECHAT_SECRET", getenv)
}

// TerminalKey is this till's key for the hub (token_source = "hub").
func (c *Config) TerminalKey(getenv func(string) string) (string, error) {
	return readSecret("wechat.terminal_key_file", c.WeChat.TerminalKeyFile, "CARDTILL_TERMINAL_KEY", getenv)
}

// HubSecret is the AppSecret the hub uses to keep the token fresh.
func (c *Config) HubSecret(getenv func(string) string) (string, error) {
	return readSecret("hub.secret_file", c.Hub.SecretFile, "CARDTILL_HUB_SECRET", getenv)
}

// Redacted returns a copy whose secret values are replaced by a marker, for
// printing.
func (c *Config) Redacted() *Config {
	cp := *c
	rv := reflect.ValueOf(&cp).Elem()
	for i := 0; i < rv.NumField(); i++ {
		sv := rv.Field(i)
		if sv.Kind() != reflect.Struct {
			continue
		}
		st := sv.Type()
		for j := 0; j < st.NumField(); j++ {
			if st.Field(j).Tag.Get("secret") == "true" && sv.Field(j).String() != "" {
				sv.Field(j).SetString("(redacted)")
			}
		}
	}
	return &cp
}
