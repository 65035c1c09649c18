//go:build unix

package printer

import "syscall"

// mkfifo makes a FIFO nobody reads: it stands in for a stalled printer.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o600) }
