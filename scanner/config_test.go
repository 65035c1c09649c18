package scanner

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		goos string
		key  string // "" = valid
		says string
	}{
		{"defaults", Config{}, "linux", "", ""},
		{"keyboard only", Config{Port: ""}, "linux", "", ""},
		{"full", Config{Port: `\\.\COM10`, Baud: 115200, DataBits: 7, Parity: "even", StopBits: 2, Terminator: "crlf",
			FrameTimeout: 50 * time.Millisecond, Prefix: "#", Suffix: "!", MaxLength: 1024}, "windows", "", ""},
		{"odd baud on windows", Config{Baud: 14400}, "windows", "", ""},
		{"odd baud on linux", Config{Baud: 14400}, "linux", "baud", "such as 9600"},
		{"data bits", Config{DataBits: 9}, "linux", "data_bits", "5, 6, 7 or 8"},
		{"parity word", Config{Parity: "N"}, "linux", "parity", "none, odd, even"},
		{"mark parity on linux", Config{Parity: "mark"}, "linux", "parity", "only supported on Windows"},
		{"mark parity on windows", Config{Parity: "mark"}, "windows", "", ""},
		{"stop bits", Config{StopBits: 3}, "linux", "stop_bits", "1 or 2"},
		{"terminator", Config{Terminator: "CR"}, "linux", "terminator", "cr, lf, crlf, etx, tab, none"},
		{"frame timeout too short", Config{FrameTimeout: time.Millisecond}, "linux", "frame_timeout", "between 10ms and 5s"},
		{"frame timeout negative", Config{FrameTimeout: -time.Second}, "linux", "frame_timeout", "negative"},
		{"max length", Config{MaxLength: 10}, "linux", "max_length", "between 20 and 4096"},
		{"prefix control char", Config{Prefix: "\x02"}, "linux", "prefix", "control characters"},
		{"suffix too long", Config{Suffix: strings.Repeat("x", 17)}, "linux", "suffix", "longer than 16"},
		{"port blanks", Config{Port: " /dev/ttyACM0"}, "linux", "port", "blanks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.validate(tt.goos)
			if tt.key == "" {
				if err != nil {
					t.Fatalf("valid config refused: %v", err)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Key != tt.key || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("err = %v, want %s saying %q", err, tt.key, tt.says)
			}
		})
	}
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	c := Config{}.WithDefaults()
	if c.Baud != 9600 || c.DataBits != 8 || c.Parity != "none" || c.StopBits != 1 || c.Terminator != "cr" ||
		c.FrameTimeout != 100*time.Millisecond || c.MaxLength != 512 {
		t.Fatalf("defaults = %+v", c)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatal(err)
	}
}
