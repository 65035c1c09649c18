//go:build windows

package scanner

import (
	"fmt"
	"slices"
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
		out = append(out, comPort(n, com))
	}
	usb := usbPorts()
	for i := range out {
		if u, ok := usb[strings.ToUpper(out[i].Name)]; ok {
			out[i] = withUSB(out[i], u)
		}
	}
	slices.SortFunc(out, func(a, b PortInfo) int { return comNumber(a.Name) - comNumber(b.Name) })
	return out, nil
}

// usbPorts maps "COM3" to what the Plug and Play registry knows of the USB
// device behind it: Enum\USB\VID_0C2E&PID_0B61\<serial>\Device
// Parameters\PortName = COM3 (FTDI adapters enumerate under FTDIBUS, with
// '+' between the parts). Best effort: a key that cannot be read is skipped.
func usbPorts() map[string]PortInfo {
	out := map[string]PortInfo{}
	for _, bus := range []string{`SYSTEM\CurrentControlSet\Enum\USB`, `SYSTEM\CurrentControlSet\Enum\FTDIBUS`} {
		busKey, err := registry.OpenKey(registry.LOCAL_MACHINE, bus, registry.ENUMERATE_SUB_KEYS)
		if err != nil {
			continue
		}
		devices, _ := busKey.ReadSubKeyNames(0)
		busKey.Close()
		for _, dev := range devices {
			devKey, err := registry.OpenKey(registry.LOCAL_MACHINE, bus+`\`+dev, registry.ENUMERATE_SUB_KEYS)
			if err != nil {
				continue
			}
			instances, _ := devKey.ReadSubKeyNames(0)
			devKey.Close()
			for _, inst := range instances {
				path := bus + `\` + dev + `\` + inst
				com := regString(path+`\Device Parameters`, "PortName")
				if com == "" {
					continue
				}
				out[strings.ToUpper(com)] = usbPort(dev, inst, regString(path, "FriendlyName"), regString(path, "Mfg"))
			}
		}
	}
	return out
}

func regString(path, name string) string {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE)
	if err != nil {
		return ""
	}
	defer k.Close()
	v, _, err := k.GetStringValue(name)
	if err != nil {
		return ""
	}
	return v
}
