//go:build !linux && !windows

package scanner

import (
	"path/filepath"
	"slices"
)

// listPorts on other Unix systems lists the usual device names.
func listPorts() ([]PortInfo, error) {
	var out []PortInfo
	for _, pat := range []string{"/dev/cu.*", "/dev/tty.usb*", "/dev/ttyU*", "/dev/cuaU*"} {
		m, _ := filepath.Glob(pat)
		for _, d := range m {
			out = append(out, PortInfo{Name: d, Device: d})
		}
	}
	slices.SortFunc(out, func(a, b PortInfo) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out, nil
}
