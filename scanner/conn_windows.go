//go:build windows

package scanner

import (
	"errors"
	"io/fs"
	"syscall"
)

// lockPort: COM ports are opened exclusively on Windows already.
func lockPort(string) (func(), error) { return func() {}, nil }

const (
	errorSharingViolation syscall.Errno = 32
	errorFileNotFound     syscall.Errno = 2
	errorPathNotFound     syscall.Errno = 3
)

// classifyOpenError turns an open failure into an *OpenError saying what
// to do. On Windows a COM port held by another program answers "access
// denied".
func classifyOpenError(port string, err error) error {
	if oe := badSettings(port, err); oe != nil {
		return oe
	}
	var errno syscall.Errno
	errors.As(err, &errno)
	switch {
	case errors.Is(err, fs.ErrNotExist), errno == errorFileNotFound, errno == errorPathNotFound:
		return &OpenError{Port: port, Kind: OpenMissing, Err: err,
			Hint: `plug the scanner in, or correct the port's name (for COM10 and above write \\.\COM10)`}
	case errno == syscall.ERROR_ACCESS_DENIED, errno == errorSharingViolation:
		return &OpenError{Port: port, Kind: OpenBusy, Err: err,
			Hint: "another program has the port open (the scanner's own tool, another cardtill): close it"}
	}
	return &OpenError{Port: port, Kind: OpenOther, Err: err}
}

// watchPath: COM names are not files; a removed device shows up as a
// failing read instead.
func watchPath(string) func() error { return func() error { return nil } }
