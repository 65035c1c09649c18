package main

// The part of readableByEveryone (fileacl_windows.go) that is plain logic,
// so that it is tested on any system: which entry of a file's DACL lets
// every local user read it. The values are Windows' (winnt.h).
const (
	aceTypeAccessAllowed = 0x00       // ACCESS_ALLOWED_ACE_TYPE
	rightFileReadData    = 0x00000001 // FILE_READ_DATA
	rightGenericAll      = 0x10000000 // GENERIC_ALL
	rightGenericRead     = 0x80000000 // GENERIC_READ
)

// grantsBroadRead reports whether one ACE opens a file to everyone: an
// allow entry with a read right for a SID that stands for every user
// (Everyone, Users, Authenticated Users, INTERACTIVE: broadSID). Deny
// entries and other rights do not.
func grantsBroadRead(aceType uint8, mask uint32, broadSID bool) bool {
	return broadSID && aceType == aceTypeAccessAllowed && mask&(rightFileReadData|rightGenericRead|rightGenericAll) != 0
}
