//go:build !windows

package console

// userUILanguage: off Windows the locale variables are the whole story.
func userUILanguage() (uint16, bool) { return 0, false }
