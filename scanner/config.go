package scanner

import (
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"time"
)

// Config describes a serial scanner: the keys of the [scanner] section of
// the config file.
type Config struct {
	// Port is the device: "/dev/ttyACM0", "/dev/serial/by-id/usb-…",
	// "COM3" or `\\.\COM10`.
	Port string
	// Baud defaults to 9600.
	Baud int
	// DataBits is 5..8, default 8.
	DataBits int
	// Parity is "none" (default), "odd", "even"; "mark" and "space" only on
	// Windows.
	Parity string
	// StopBits is 1 (default) or 2.
	StopBits int
	// Terminator ends a frame: "cr" (default), "lf", "crlf", "etx", "tab"
	// or "none" (frames end on FrameTimeout of silence).
	Terminator string
	// FrameTimeout is the silence that ends a frame when Terminator is
	// "none", and after which an unterminated partial frame is reported as
	// incomplete otherwise. Default 100ms.
	FrameTimeout time.Duration
	// Prefix and Suffix are stripped from each frame when present.
	Prefix, Suffix string
	// MaxLength is the longest frame accepted (bytes, default 512).
	MaxLength int
}

// Defaults.
const (
	DefaultBaud         = 9600
	DefaultFrameTimeout = 100 * time.Millisecond
	DefaultMaxLength    = 512
)

var terminators = []string{"cr", "lf", "crlf", "etx", "tab", "none"}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.Parity == "" {
		c.Parity = "none"
	}
	if c.StopBits == 0 {
		c.StopBits = 1
	}
	if c.Terminator == "" {
		c.Terminator = "cr"
	}
	if c.FrameTimeout == 0 {
		c.FrameTimeout = DefaultFrameTimeout
	}
	if c.MaxLength == 0 {
		c.MaxLength = DefaultMaxLength
	}
	return c
}

// ConfigError is a bad setting of Config: its key (the field's name in
// the scanner's section of a config file, which the command line names
// in full), and what to write.
type ConfigError struct {
	Key string // e.g. "baud"
	Msg string
}

func (e *ConfigError) Error() string { return "scanner setting " + e.Key + ": " + e.Msg }

// Validate checks c (after defaults are applied to zero fields) and says
// what is wrong with each bad key. An empty Port is valid: keyboard only.
func (c Config) Validate() error {
	return c.validate(runtime.GOOS)
}

func (c Config) validate(goos string) error {
	c = c.WithDefaults()
	var errs []error
	bad := func(key, format string, a ...any) {
		errs = append(errs, &ConfigError{Key: key, Msg: fmt.Sprintf(format, a...)})
	}
	if strings.TrimSpace(c.Port) != c.Port {
		bad("port", "%q has blanks around it: remove them", c.Port)
	}
	if !validBaud(c.Baud, goos) {
		bad("baud", "%d is not a baud rate this port supports: use one the scanner is set to, such as 9600 or 115200", c.Baud)
	}
	if c.DataBits < 5 || c.DataBits > 8 {
		bad("data_bits", "%d: must be 5, 6, 7 or 8 (almost every scanner uses 8)", c.DataBits)
	}
	switch c.Parity {
	case "none", "odd", "even":
	case "mark", "space":
		if goos != "windows" {
			bad("parity", "%q is only supported on Windows: use none, odd or even", c.Parity)
		}
	default:
		bad("parity", "%q: must be none, odd, even, mark or space", c.Parity)
	}
	if c.StopBits != 1 && c.StopBits != 2 {
		bad("stop_bits", "%d: must be 1 or 2", c.StopBits)
	}
	if !contains(terminators, c.Terminator) {
		bad("terminator", "%q: must be one of %s", c.Terminator, strings.Join(terminators, ", "))
	}
	if c.FrameTimeout < 0 {
		bad("frame_timeout", "must not be negative")
	} else if c.FrameTimeout < 10*time.Millisecond || c.FrameTimeout > 5*time.Second {
		bad("frame_timeout", "%s: must be between 10ms and 5s (100ms suits most scanners)", c.FrameTimeout)
	}
	if c.MaxLength < 20 || c.MaxLength > MaxInputLen {
		bad("max_length", "%d: must be between 20 and %d", c.MaxLength, MaxInputLen)
	}
	for key, v := range map[string]string{"prefix": c.Prefix, "suffix": c.Suffix} {
		if len(v) > 16 {
			bad(key, "%q is longer than 16 characters", v)
		}
		if !printable(v) {
			bad(key, "%q has control characters: write only the printable part", v)
		}
	}
	return errors.Join(errs...)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validBaud: Linux's termios only knows fixed rates; Windows takes any.
func validBaud(b int, goos string) bool {
	if goos == "windows" {
		return b > 0 && b <= 4000000
	}
	switch b {
	case 50, 75, 110, 134, 150, 200, 300, 600, 1200, 1800, 2400, 4800, 9600,
		19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000, 921600,
		1000000, 1152000, 1500000, 2000000, 2500000, 3000000, 3500000, 4000000:
		return true
	}
	return false
}

// Options are the Reader's dependencies and tuning, all optional.
type Options struct {
	// Logger gets connect/disconnect and bad-frame records; default discards.
	Logger *slog.Logger
	// Now stamps events; default time.Now.
	Now func() time.Time
	// ReadTimeout is how long one read of the port waits for a byte. It
	// bounds how fast Close returns and how soon a vanished device path is
	// noticed. Default 200ms (Linux rounds it to tenths of a second).
	ReadTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts to reopen a
	// lost port (doubling, with jitter). Defaults 250ms and 5s.
	MinBackoff, MaxBackoff time.Duration
	// WaitForPort makes Open succeed even when the port cannot be opened
	// yet (scanner unplugged at start-up): the Reader reports it
	// disconnected and keeps trying.
	WaitForPort bool
	// EventBuffer is the capacity of the Events channel; default 64.
	EventBuffer int

	// onQuietRead, when set (tests), is called after each read that timed
	// out on a quiet line and was judged not a disconnect.
	onQuietRead func()
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReadTimeout <= 0 {
		o.ReadTimeout = 200 * time.Millisecond
	}
	if runtime.GOOS != "windows" {
		// termios counts VTIME in tenths of a second (0.1s to 25.5s); keep
		// the value the port really uses, which tells a timeout from a
		// hang-up.
		o.ReadTimeout = min(max(o.ReadTimeout.Truncate(100*time.Millisecond), 100*time.Millisecond), 25500*time.Millisecond)
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 250 * time.Millisecond
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = max(5*time.Second, o.MinBackoff)
	}
	if o.EventBuffer <= 0 {
		o.EventBuffer = 64
	}
	return o
}
