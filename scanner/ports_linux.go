//go:build linux

package scanner

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

func listPorts() ([]PortInfo, error) { return listPortsAt("/") }

// listPortsAt reads <root>/sys/class/tty and <root>/dev/serial/by-id, so
// tests can give it a made-up tree.
func listPortsAt(root string) ([]PortInfo, error) {
	classDir := filepath.Join(root, "sys/class/tty")
	entries, err := os.ReadDir(classDir)
	if err != nil {
		return nil, err
	}
	byDev := map[string]*PortInfo{}
	var ports []*PortInfo
	for _, e := range entries {
		name := e.Name()
		dir := filepath.Join(classDir, name)
		devLink := filepath.Join(dir, "device")
		if _, err := os.Stat(devLink); err != nil {
			continue // virtual terminals and ptys have no device
		}
		// Legacy 8250 ports exist for every possible UART; type 0 means
		// there is no hardware behind it.
		if strings.HasPrefix(name, "ttyS") && readTrim(filepath.Join(dir, "type")) == "0" {
			continue
		}
		p := &PortInfo{Device: "/dev/" + name, Name: "/dev/" + name}
		p.Driver = driverOf(devLink)
		usbInfo(root, devLink, p)
		byDev[name] = p
		ports = append(ports, p)
	}
	// Stable names: /dev/serial/by-id/usb-Honeywell_…-if00 -> ../../ttyACM0
	byID := filepath.Join(root, "dev/serial/by-id")
	links, err := os.ReadDir(byID)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	for _, l := range links {
		target, err := os.Readlink(filepath.Join(byID, l.Name()))
		if err != nil {
			continue
		}
		p := byDev[filepath.Base(target)]
		if p == nil {
			continue
		}
		link := "/dev/serial/by-id/" + l.Name()
		if p.Name == p.Device {
			p.Name = link
		} else {
			p.Aliases = append(p.Aliases, link)
		}
	}
	out := make([]PortInfo, 0, len(ports))
	for _, p := range ports {
		out = append(out, *p)
	}
	slices.SortFunc(out, func(a, b PortInfo) int { return strings.Compare(a.Device, b.Device) })
	return out, nil
}

// driverOf names the driver of a tty's device. Since Linux 6.5 8250 ports
// sit under serial-base "port"/"ctrl" devices: look past those.
func driverOf(devLink string) string {
	dir, err := filepath.EvalSymlinks(devLink)
	if err != nil {
		return ""
	}
	for range 4 {
		if drv, err := os.Readlink(filepath.Join(dir, "driver")); err == nil && !strings.Contains(drv, "/serial-base/") {
			return filepath.Base(drv)
		}
		dir = filepath.Dir(dir)
	}
	return ""
}

// usbInfo walks up from the tty's device to the USB device that carries
// idVendor/idProduct.
func usbInfo(root, devLink string, p *PortInfo) {
	dir, err := filepath.EvalSymlinks(devLink)
	if err != nil {
		return
	}
	sys := filepath.Join(root, "sys")
	for d := dir; strings.HasPrefix(d, sys) && d != sys; d = filepath.Dir(d) {
		vid := readTrim(filepath.Join(d, "idVendor"))
		if vid == "" {
			continue
		}
		p.VendorID = vid
		p.ProductID = readTrim(filepath.Join(d, "idProduct"))
		p.Manufacturer = readTrim(filepath.Join(d, "manufacturer"))
		p.Product = readTrim(filepath.Join(d, "product"))
		p.Serial = readTrim(filepath.Join(d, "serial"))
		return
	}
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
