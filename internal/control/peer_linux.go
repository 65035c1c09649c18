package control

import (
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// allowPeer admits a control-socket peer running as this process's user
// or as root (SO_PEERCRED), on top of the socket's 0600 mode.
func allowPeer(c net.Conn) error {
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return fmt.Errorf("control socket: not a Unix connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	var cred *unix.Ucred
	var cerr error
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return err
	}
	if cerr != nil {
		return cerr
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Getuid() {
		return fmt.Errorf("control socket: peer uid %d refused", cred.Uid)
	}
	return nil
}
