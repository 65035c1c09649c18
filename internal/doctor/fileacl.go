package doctor

import "cardtill/internal/config"

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

// Exposed is a file holding a secret that every user of the machine can
// read, and the command that closes it.
type Exposed struct {
	Path, Fix string
}

// HubSecretsExposed lists the hub's files that hold a secret (its
// AppSecret file, and the config itself when it holds the push Token or
// AES key inline) and that every user of this machine can read. A file
// that cannot be inspected is left out: the hub's start reports it.
func HubSecretsExposed(cfg *config.Config) []Exposed {
	files := []string{cfg.Hub.SecretFile}
	if hasInlineSecret(cfg) {
		files = append(files, cfg.Path)
	}
	var out []Exposed
	for _, f := range files {
		if f == "" {
			continue
		}
		if open, fix, err := readableByEveryone(f); err == nil && open {
			out = append(out, Exposed{Path: f, Fix: fix})
		}
	}
	return out
}
