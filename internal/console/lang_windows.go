//go:build windows

package console

import "golang.org/x/sys/windows"

var procGetUserDefaultUILanguage = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetUserDefaultUILanguage")

// userUILanguage is the Windows display language of the user running
// cardtill (Settings > Time & language > Windows display language).
func userUILanguage() (uint16, bool) {
	if procGetUserDefaultUILanguage.Find() != nil {
		return 0, false
	}
	r, _, _ := procGetUserDefaultUILanguage.Call()
	if r == 0 {
		return 0, false
	}
	return uint16(r), true
}
