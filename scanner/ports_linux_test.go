//go:build linux

package scanner

import (
	"os"
	"path/filepath"
	"testing"
)

// A made-up /sys and /dev with a USB CDC-ACM scanner, a USB FTDI adapter,
// a real and a phantom 8250 UART, and a virtual console.
func fakeSysfs(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mk := func(path, content string) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, path string) {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	usb := "sys/devices/pci0000:00/0000:00:14.0/usb1/1-2"
	mk(usb+"/idVendor", "0c2e\n")
	mk(usb+"/idProduct", "0b61\n")
	mk(usb+"/manufacturer", "Honeywell\n")
	mk(usb+"/product", "Xenon 1900\n")
	mk(usb+"/serial", "19123ABC\n")
	mk(usb+"/1-2:1.0/tty/ttyACM0/dev", "166:0\n")
	mk("sys/bus/usb/drivers/cdc_acm/uevent", "")
	link(filepath.Join(root, "sys/bus/usb/drivers/cdc_acm"), usb+"/1-2:1.0/driver")
	link(filepath.Join(root, usb+"/1-2:1.0"), "sys/class/tty/ttyACM0/device")

	ftdi := "sys/devices/pci0000:00/0000:00:14.0/usb1/1-3"
	mk(ftdi+"/idVendor", "0403\n")
	mk(ftdi+"/idProduct", "6001\n")
	mk(ftdi+"/1-3:1.0/ttyUSB0/dev", "188:0\n")
	link(filepath.Join(root, ftdi+"/1-3:1.0/ttyUSB0"), "sys/class/tty/ttyUSB0/device")

	mk("sys/devices/platform/serial8250/tty/ttyS0/x", "")
	link(filepath.Join(root, "sys/devices/platform/serial8250/tty/ttyS0"), "sys/class/tty/ttyS0/device")
	mk("sys/class/tty/ttyS0/type", "4\n")
	mk("sys/bus/serial-base/drivers/port/uevent", "")
	mk("sys/bus/platform/drivers/serial8250/uevent", "")
	link(filepath.Join(root, "sys/bus/serial-base/drivers/port"), "sys/devices/platform/serial8250/tty/ttyS0/driver")
	link(filepath.Join(root, "sys/bus/platform/drivers/serial8250"), "sys/devices/platform/serial8250/driver")
	mk("sys/devices/platform/serial8250/tty/ttyS1/x", "")
	link(filepath.Join(root, "sys/devices/platform/serial8250/tty/ttyS1"), "sys/class/tty/ttyS1/device")
	mk("sys/class/tty/ttyS1/type", "0\n")
	mk("sys/class/tty/tty1/dev", "4:1\n") // a console: no device link

	link("../../ttyACM0", "dev/serial/by-id/usb-Honeywell_Xenon_1900_19123ABC-if00")
	link("../../ttyUSB0", "dev/serial/by-id/usb-FTDI_FT232R-if00-port0")
	link("../../ttyUSB0", "dev/serial/by-id/usb-FTDI_FT232R_alias")
	return root
}

func TestListPortsLinux(t *testing.T) {
	t.Parallel()
	ports, err := listPortsAt(fakeSysfs(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 3 {
		t.Fatalf("ports = %+v, want ttyACM0, ttyS0, ttyUSB0", ports)
	}
	acm := ports[0]
	if acm.Device != "/dev/ttyACM0" || acm.Name != "/dev/serial/by-id/usb-Honeywell_Xenon_1900_19123ABC-if00" ||
		acm.VendorID != "0c2e" || acm.ProductID != "0b61" || acm.Manufacturer != "Honeywell" ||
		acm.Product != "Xenon 1900" || acm.Serial != "19123ABC" || acm.Driver != "cdc_acm" {
		t.Fatalf("ttyACM0 = %+v", acm)
	}
	if got := acm.Description(); got != "Honeywell Xenon 1900 (USB 0c2e:0b61, cdc_acm)" {
		t.Fatalf("Description = %q", got)
	}
	if s0 := ports[1]; s0.Device != "/dev/ttyS0" || s0.Name != "/dev/ttyS0" || s0.VendorID != "" || s0.Driver != "serial8250" {
		t.Fatalf("ttyS0 = %+v", s0)
	}
	usb := ports[2]
	if usb.Device != "/dev/ttyUSB0" || usb.VendorID != "0403" || len(usb.Aliases) != 1 {
		t.Fatalf("ttyUSB0 = %+v", usb)
	}
}

func TestListPortsHere(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/sys/class/tty"); err != nil {
		t.Skip("no sysfs")
	}
	if _, err := ListPorts(); err != nil {
		t.Fatal(err)
	}
}
