//go:build !unix

package printer

import "errors"

func mkfifo(string) error { return errors.New("no FIFOs on this system") }
