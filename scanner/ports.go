package scanner

import (
	"strconv"
	"strings"
)

// PortInfo is one serial port the machine has, with what is known about it.
type PortInfo struct {
	// Name is what to write in scanner.port: the stable /dev/serial/by-id
	// link when there is one, else the device ("/dev/ttyACM0", "COM3").
	Name string `json:"name"`
	// Device is the kernel's name: "/dev/ttyACM0", "COM3".
	Device string `json:"device"`
	// Aliases are other names of the same device (more by-id links).
	Aliases []string `json:"aliases,omitempty"`
	// Driver is the kernel driver ("cdc_acm", "ftdi_sio") or, on Windows,
	// the device object ("\Device\USBSER000").
	Driver string `json:"driver,omitempty"`
	// USB identity, when the port is a USB device.
	VendorID     string `json:"vendor_id,omitempty"`  // "0c2e"
	ProductID    string `json:"product_id,omitempty"` // "0b61"
	Manufacturer string `json:"manufacturer,omitempty"`
	Product      string `json:"product,omitempty"`
	Serial       string `json:"serial,omitempty"`
}

// Description is a one-line summary for people: "Honeywell Xenon 1900
// (USB 0c2e:0b61, cdc_acm)".
func (p PortInfo) Description() string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(p.Manufacturer + " " + p.Product))
	var paren []string
	if p.VendorID != "" {
		paren = append(paren, "USB "+p.VendorID+":"+p.ProductID)
	}
	if p.Driver != "" {
		paren = append(paren, p.Driver)
	}
	if len(paren) > 0 {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("(" + strings.Join(paren, ", ") + ")")
	}
	return b.String()
}

// ListPorts lists the serial ports this machine sees, sorted by name. On
// Linux it reads /dev/serial/by-id and sysfs; on Windows the registry.
func ListPorts() ([]PortInfo, error) { return listPorts() }

// idAfter returns the 4 hex digits after marker ("VID_") in s, lower-case.
func idAfter(s, marker string) string {
	i := strings.Index(strings.ToUpper(s), marker)
	if i < 0 || len(s) < i+len(marker)+4 {
		return ""
	}
	return strings.ToLower(s[i+len(marker) : i+len(marker)+4])
}

// comNumber is 10 for "COM10" (and `\\.\COM10`), 0 when not a COM name.
func comNumber(s string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(strings.ToUpper(s), `\\.\`), "COM"))
	return n
}

// comPort is the PortInfo of one value of HKLM\HARDWARE\DEVICEMAP\SERIALCOMM
// (name: the device object, data: "COM3"). COM10 and above also answer to
// \\.\COM10, the name CreateFile needs for them.
func comPort(deviceObject, com string) PortInfo {
	p := PortInfo{Name: com, Device: com, Driver: deviceObject}
	if comNumber(com) >= 10 {
		p.Aliases = []string{`\\.\` + com}
	}
	return p
}

// usbPort is what the Plug and Play registry tells of the USB device behind
// a COM port: dev is the key under Enum\USB or Enum\FTDIBUS
// ("VID_0C2E&PID_0B61", FTDI: "VID_0403+PID_6001+A9XYZ"), inst its instance
// key (the device's serial number, or a port-path id with '&' when it has
// none), friendly its FriendlyName, mfg its Mfg ("@oem12.inf,%mfg%;Honeywell":
// the name after the last ';').
func usbPort(dev, inst, friendly, mfg string) PortInfo {
	info := PortInfo{VendorID: idAfter(dev, "VID_"), ProductID: idAfter(dev, "PID_"), Product: friendly}
	if mfg != "" {
		info.Manufacturer = mfg[strings.LastIndex(mfg, ";")+1:]
	}
	if !strings.Contains(inst, "&") {
		info.Serial = inst
	}
	return info
}

// withUSB is p with the USB identity of u.
func withUSB(p, u PortInfo) PortInfo {
	p.VendorID, p.ProductID = u.VendorID, u.ProductID
	p.Manufacturer, p.Product, p.Serial = u.Manufacturer, u.Product, u.Serial
	return p
}
