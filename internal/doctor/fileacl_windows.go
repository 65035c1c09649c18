//go:build windows

package doctor

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
)

// readableByEveryone reports whether path's ACL lets every local user read
// it: a NULL DACL, or an allow entry with read rights for Everyone, Users,
// Authenticated Users or INTERACTIVE (what a folder under %ProgramData%
// inherits unless its rights were set). Go's file mode says nothing about
// that on Windows. fix says how to close it.
func readableByEveryone(path string) (open bool, fix string, err error) {
	fix = fmt.Sprintf(`icacls "%s" /inheritance:r /grant:r Administrators:F SYSTEM:F (setup.cmd hub does it for the hub's folder)`, path)
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return false, fix, err
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return false, fix, err
	}
	if dacl == nil {
		return true, fix, nil
	}
	var broad []*windows.SID
	for _, t := range []windows.WELL_KNOWN_SID_TYPE{windows.WinWorldSid, windows.WinBuiltinUsersSid, windows.WinAuthenticatedUserSid, windows.WinInteractiveSid} {
		sid, err := windows.CreateWellKnownSid(t)
		if err != nil {
			return false, fix, err
		}
		broad = append(broad, sid)
	}
	for i := uint16(0); i < dacl.AceCount; i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, uint32(i), &ace); err != nil {
			return false, fix, err
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		isBroad := false
		for _, b := range broad {
			isBroad = isBroad || sid.Equals(b)
		}
		if grantsBroadRead(ace.Header.AceType, uint32(ace.Mask), isBroad) { // fileacl.go
			return true, fix, nil
		}
	}
	return false, fix, nil
}
