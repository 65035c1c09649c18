//go:build !windows

package scanner

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"syscall"
)

// lockPort takes an advisory lock (flock) on the device so that a second
// cardtill cannot read the same scanner and steal half its codes: ttys are
// not exclusive on Unix.
func lockPort(port string) (func(), error) {
	f, err := os.OpenFile(port, os.O_RDONLY|syscall.O_NOCTTY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, classifyOpenError(port, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &OpenError{Port: port, Kind: OpenBusy, Err: err,
				Hint: "another process is reading this scanner (it holds the port's lock)"}
		}
		return nil, &OpenError{Port: port, Kind: OpenOther, Err: err}
	}
	return func() { f.Close() }, nil
}

// classifyOpenError turns an open failure into an *OpenError saying what
// to do.
func classifyOpenError(port string, err error) error {
	if oe, ok := err.(*OpenError); ok {
		return oe
	}
	if oe := badSettings(port, err); oe != nil {
		return oe
	}
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case errors.Is(err, fs.ErrNotExist), errno == syscall.ENXIO, errno == syscall.ENODEV:
		return &OpenError{Port: port, Kind: OpenMissing, Err: err,
			Hint: "plug the scanner in, or correct the port's name"}
	case errno == syscall.EACCES, errno == syscall.EPERM:
		return &OpenError{Port: port, Kind: OpenPermission, Err: err, Hint: permissionHint()}
	case errno == syscall.EBUSY:
		return &OpenError{Port: port, Kind: OpenBusy, Err: err,
			Hint: "another program holds the port (a terminal program, ModemManager, another cardtill): close it"}
	case errno == syscall.ENOTTY, errno == syscall.EINVAL:
		return &OpenError{Port: port, Kind: OpenNotSerial, Err: err,
			Hint: "the port must be a serial device such as /dev/ttyACM0"}
	}
	return &OpenError{Port: port, Kind: OpenOther, Err: err}
}

func permissionHint() string {
	name := "$USER"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	}
	return fmt.Sprintf("add the user to the dialout group (sudo usermod -aG dialout %s), then log out and in again", name)
}

// watchPath notices the device path disappearing (USB unplugged) or being
// re-pointed to another device (a /dev/serial/by-id link after replug).
func watchPath(port string) func() error {
	first, err := os.Stat(port)
	if err != nil {
		return func() error { return nil }
	}
	return func() error {
		now, err := os.Stat(port)
		switch {
		case err != nil:
			return fmt.Errorf("the device %s is gone", port)
		case !os.SameFile(first, now):
			return fmt.Errorf("%s now names another device", port)
		}
		return nil
	}
}
