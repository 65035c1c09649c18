package scanner

import (
	"errors"
	"io"
	"syscall"
	"testing"
	"time"
)

func TestLossDetector(t *testing.T) {
	const rt = 100 * time.Millisecond
	type read struct {
		n    int
		err  error
		took time.Duration
	}
	quietLinux := read{0, io.EOF, rt}
	quietWindows := read{0, nil, rt}
	fastEOF := read{0, io.EOF, time.Millisecond}
	data := read{5, nil, time.Millisecond}
	tests := []struct {
		name  string
		reads []read
		lost  bool
	}{
		{"quiet line (linux)", []read{quietLinux, quietLinux, quietLinux, quietLinux}, false},
		{"quiet line (windows)", []read{quietWindows, quietWindows, quietWindows, quietWindows}, false},
		{"data keeps coming", []read{data, data, data, data, data}, false},
		{"hang-up: EIO", []read{quietLinux, {0, syscall.EIO, time.Millisecond}}, true},
		{"hang-up: EOF at once, every time", []read{fastEOF, fastEOF, fastEOF}, true},
		{"two early EOFs then a timeout", []read{fastEOF, fastEOF, quietLinux, fastEOF, fastEOF}, false},
		{"data between early EOFs", []read{fastEOF, fastEOF, data, fastEOF, fastEOF}, false},
		{"windows removed device", []read{{0, errors.New("The device does not recognize the command."), 0}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := lossDetector{readTimeout: rt}
			var lost error
			for _, r := range tt.reads {
				if lost = d.observe(r.n, r.err, r.took); lost != nil {
					break
				}
			}
			if (lost != nil) != tt.lost {
				t.Fatalf("lost = %v, want lost %v", lost, tt.lost)
			}
		})
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	d := 250 * time.Millisecond
	var seq []time.Duration
	for range 8 {
		seq = append(seq, d)
		d = nextBackoff(d, 5*time.Second)
	}
	want := []time.Duration{250, 500, 1000, 2000, 4000, 5000, 5000, 5000}
	for i := range want {
		if seq[i] != want[i]*time.Millisecond {
			t.Fatalf("backoff sequence %v", seq)
		}
	}
	for range 1000 {
		if j := jitter(time.Second); j < 800*time.Millisecond || j > 1200*time.Millisecond {
			t.Fatalf("jitter(1s) = %v, outside ±20%%", j)
		}
	}
}

func TestWindowsNameHelpers(t *testing.T) {
	for in, want := range map[string]int{"COM3": 3, "com10": 10, `\\.\COM12`: 12, "/dev/ttyS0": 0} {
		if got := comNumber(in); got != want {
			t.Errorf("comNumber(%q) = %d, want %d", in, got, want)
		}
	}
	for _, tt := range []struct{ key, marker, want string }{
		{"VID_0C2E&PID_0B61", "VID_", "0c2e"},
		{"VID_0C2E&PID_0B61&MI_00", "PID_", "0b61"},
		{"VID_0403+PID_6001+A9XYZ", "PID_", "6001"},
		{"ROOT_HUB30", "VID_", ""},
		{"VID_0C", "VID_", ""},
	} {
		if got := idAfter(tt.key, tt.marker); got != tt.want {
			t.Errorf("idAfter(%q, %q) = %q, want %q", tt.key, tt.marker, got, tt.want)
		}
	}
}
