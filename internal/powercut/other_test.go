//go:build !linux

package powercut

import "testing"

// TestPowerCutNeedsLinux says why no power-cut test runs here.
func TestPowerCutNeedsLinux(t *testing.T) {
	t.Parallel()
	t.Skip("skipped: the power-cut tests need Linux (a FUSE mount, /dev/fuse)")
}
