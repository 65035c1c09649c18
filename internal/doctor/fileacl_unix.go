//go:build !windows

package doctor

import (
	"fmt"
	"os"
)

// readableByEveryone reports whether every local user may read path (the
// "other" read bit), for doctor's warning about a config that holds a
// secret; fix says how to close it.
func readableByEveryone(path string) (open bool, fix string, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return false, "", err
	}
	return fi.Mode().Perm()&0o004 != 0, fmt.Sprintf("chmod 640 %s (owner root, group cardtill)", path), nil
}
