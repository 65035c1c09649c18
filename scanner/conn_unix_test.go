//go:build !windows

package scanner

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

func TestClassifyOpenError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		kind OpenErrorKind
		says string
	}{
		{&fs.PathError{Op: "open", Path: "/dev/ttyACM0", Err: syscall.ENOENT}, OpenMissing, "plug the scanner in"},
		{&fs.PathError{Op: "open", Path: "/dev/ttyACM0", Err: syscall.ENXIO}, OpenMissing, "plug the scanner in"},
		{&fs.PathError{Op: "open", Path: "/dev/ttyACM0", Err: syscall.EACCES}, OpenPermission, "sudo usermod -aG dialout"},
		{&fs.PathError{Op: "open", Path: "/dev/ttyACM0", Err: syscall.EBUSY}, OpenBusy, "close it"},
		{syscall.ENOTTY, OpenNotSerial, "serial device"},
		{errors.New("Unrecognized baud rate"), OpenBadSettings, "baud rate, data bits"},
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
