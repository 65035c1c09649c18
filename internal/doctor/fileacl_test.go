package doctor

import "testing"

func TestGrantsBroadRead(t *testing.T) {
	t.Parallel()
	const (
		allow, deny = 0x00, 0x01
		write       = 0x00000002 // FILE_WRITE_DATA
		fullFile    = 0x001F01FF // FILE_ALL_ACCESS (what icacls F grants)
		readExecute = 0x001200A9 // icacls RX
	)
	for _, c := range []struct {
		typ   uint8
		mask  uint32
		broad bool
		want  bool
	}{
		{allow, readExecute, true, true},
		{allow, fullFile, true, true},
		{allow, rightGenericRead, true, true},
		{allow, rightGenericAll, true, true},
		{allow, write, true, false},        // may write, not read
		{deny, readExecute, true, false},   // a deny entry closes, never opens
		{allow, readExecute, false, false}, // Administrators, SYSTEM, the cashier
	} {
		if got := grantsBroadRead(c.typ, c.mask, c.broad); got != c.want {
			t.Errorf("grantsBroadRead(%d, %#x, %v) = %v, want %v", c.typ, c.mask, c.broad, got, c.want)
		}
	}
}
