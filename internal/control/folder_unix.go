//go:build !windows

package control

import (
	"fmt"
	"os"
	"syscall"
)

// folderID names the folder at path by device and inode, so the client
// and the running till can tell whether they see the same folder (not so
// under systemd's PrivateTmp, or across containers). "" when unknown.
func folderID(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}
