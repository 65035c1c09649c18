//go:build windows

package scanner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// listPorts reads HKLM\HARDWARE\DEVICEMAP\SERIALCOMM, where Windows lists
// every COM port present now (value name: the device object, data: "COM3").
func listPorts() ([]PortInfo, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `HARDWARE\DEVICEMAP\SERIALCOMM`, registry.QUERY_VALUE)
	if err == registry.ErrNotExist {
		return nil, nil // no serial ports at all
	}
	if err != nil {
		return nil, fmt.Errorf("read the serial ports from the registry: %w", err)
	}
	defer k.Close()
	names, err := k.ReadValueNames(0)
	if err != nil {
		return nil, fmt.Errorf("read the serial ports from the registry: %w", err)
	}
	var out []PortInfo
	for _, n := range names {
		com, _, err := k.GetStringValue(n)
		if err != nil || com == "" {
			continue
		}
		p := PortInfo{Name: com, Device: com, Driver: n}
		if comNumber(com) >= 10 {
			p.Aliases = []string{`\\.\` + com}
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b PortInfo) int { return comNumber(a.Name) - comNumber(b.Name) })
	return out, nil
}

func comNumber(s string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(s), "COM"))
	return n
}
