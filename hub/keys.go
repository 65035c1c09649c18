package hub

import (
	"crypto/rand"
	"encoding/base64"
)

// NewTerminalKey returns a fresh terminal key: "ctk_" and 32 random bytes
// in URL-safe base64. Only its SHA-256 is stored; it is shown once.
func NewTerminalKey() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return "ctk_" + base64.RawURLEncoding.EncodeToString(b)
}
