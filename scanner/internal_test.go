package scanner

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
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

func TestClassifyOpenError(t *testing.T) {
	tests := []struct {
		err  error
		kind OpenErrorKind
		says string
	}{
		{&fs.PathError{Op: "open", Path: "/dev/ttyACM0", Err: syscall.ENOENT}, OpenMissing, "plug the scanner in"},
		{&fs.PathError{Op: "open", Path: "/dev/ttyACM0", Err: syscall.ENXIO}, OpenMissing, "cardtill ports"},
		{&fs.PathError{Op: "open", Path: "/dev/ttyACM0", Err: syscall.EACCES}, OpenPermission, "sudo usermod -aG dialout"},
		{&fs.PathError{Op: "open", Path: "/dev/ttyACM0", Err: syscall.EBUSY}, OpenBusy, "close it"},
		{syscall.ENOTTY, OpenNotSerial, "serial device"},
		{errors.New("Unrecognized baud rate"), OpenBadSettings, "scanner.baud"},
		{fmt.Errorf("x: %w", syscall.EIO), OpenOther, "input/output error"},
	}
	for _, tt := range tests {
		err := classifyOpenError("/dev/ttyACM0", tt.err)
		var oe *OpenError
		if !errors.As(err, &oe) || oe.Kind != tt.kind || !strings.Contains(err.Error(), tt.says) {
			t.Errorf("classify(%v) = %v (kind %v), want kind %v saying %q", tt.err, err, oe.Kind, tt.kind, tt.says)
		}
		if !strings.HasPrefix(err.Error(), "open serial port /dev/ttyACM0: ") {
			t.Errorf("message does not name the port: %v", err)
		}
	}
}
