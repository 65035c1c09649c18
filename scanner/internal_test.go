package scanner

import (
	"errors"
	"io"
	"reflect"
	"syscall"
	"testing"
	"time"
)

func TestLossDetector(t *testing.T) {
	t.Parallel()
	const rt = 100 * time.Millisecond
	type read struct {
		n    int
		err  error
		took time.Duration
	}
	quietLinux := read{0, io.EOF, rt}
	quietWindows := read{0, nil, rt}
	fastEOF := read{0, io.EOF, time.Millisecond}
	data := read{5, nil, time.Millisecond}
	tests := []struct {
		name  string
		reads []read
		lost  bool
	}{
		{"quiet line (linux)", []read{quietLinux, quietLinux, quietLinux, quietLinux}, false},
		{"quiet line (windows)", []read{quietWindows, quietWindows, quietWindows, quietWindows}, false},
		{"data keeps coming", []read{data, data, data, data, data}, false},
		{"hang-up: EIO", []read{quietLinux, {0, syscall.EIO, time.Millisecond}}, true},
		{"hang-up: EOF at once, every time", []read{fastEOF, fastEOF, fastEOF}, true},
		{"two early EOFs then a timeout", []read{fastEOF, fastEOF, quietLinux, fastEOF, fastEOF}, false},
		{"data between early EOFs", []read{fastEOF, fastEOF, data, fastEOF, fastEOF}, false},
		{"windows removed device", []read{{0, errors.New("The device does not recognize the command."), 0}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := lossDetector{readTimeout: rt}
			var lost error
			for _, r := range tt.reads {
				if lost = d.observe(r.n, r.err, r.took); lost != nil {
					break
				}
			}
			if (lost != nil) != tt.lost {
				t.Fatalf("lost = %v, want lost %v", lost, tt.lost)
			}
		})
	}
}

func TestBackoffIsCappedAndJittered(t *testing.T) {
	t.Parallel()
	d := 250 * time.Millisecond
	var seq []time.Duration
	for range 8 {
		seq = append(seq, d)
		d = nextBackoff(d, 5*time.Second)
	}
	want := []time.Duration{250, 500, 1000, 2000, 4000, 5000, 5000, 5000}
	for i := range want {
		if seq[i] != want[i]*time.Millisecond {
			t.Fatalf("backoff sequence %v", seq)
		}
	}
	for range 1000 {
		if j := jitter(time.Second); j < 800*time.Millisecond || j > 1200*time.Millisecond {
			t.Fatalf("jitter(1s) = %v, outside ±20%%", j)
		}
	}
}

func TestWindowsNameHelpers(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{"COM3": 3, "com10": 10, `\\.\COM12`: 12, "/dev/ttyS0": 0} {
		if got := comNumber(in); got != want {
			t.Errorf("comNumber(%q) = %d, want %d", in, got, want)
		}
	}
	for _, tt := range []struct{ key, marker, want string }{
		{"VID_0C2E&PID_0B61", "VID_", "0c2e"},
		{"VID_0C2E&PID_0B61&MI_00", "PID_", "0b61"},
		{"VID_0403+PID_6001+A9XYZ", "PID_", "6001"},
		{"ROOT_HUB30", "VID_", ""},
		{"VID_0C", "VID_", ""},
	} {
		if got := idAfter(tt.key, tt.marker); got != tt.want {
			t.Errorf("idAfter(%q, %q) = %q, want %q", tt.key, tt.marker, got, tt.want)
		}
	}
}

// What ports_windows.go makes of the registry's values.
func TestWindowsPortInfo(t *testing.T) {
	t.Parallel()
	p := comPort(`\Device\USBSER000`, "COM3")
	if p.Name != "COM3" || p.Device != "COM3" || p.Driver != `\Device\USBSER000` || len(p.Aliases) != 0 {
		t.Errorf("comPort COM3 = %+v", p)
	}
	if p := comPort(`\Device\VCP0`, "COM12"); len(p.Aliases) != 1 || p.Aliases[0] != `\\.\COM12` {
		t.Errorf("comPort COM12 = %+v, want the one alias %s", p, `\\.\COM12`)
	}
	u := usbPort("VID_0C2E&PID_0B61", "16034B0D3D", "Honeywell 1900 (COM3)", "@oem12.inf,%mfg%;Honeywell")
	want := PortInfo{VendorID: "0c2e", ProductID: "0b61", Product: "Honeywell 1900 (COM3)", Manufacturer: "Honeywell", Serial: "16034B0D3D"}
	if !reflect.DeepEqual(u, want) {
		t.Errorf("usbPort = %+v, want %+v", u, want)
	}
	if u := usbPort("VID_0403+PID_6001+A9XYZ", "0000", "", "FTDI"); u.VendorID != "0403" || u.ProductID != "6001" || u.Manufacturer != "FTDI" || u.Serial != "0000" {
		t.Errorf("usbPort FTDI = %+v", u)
	}
	if u := usbPort("VID_1A86&PID_7523", "5&2A3C1B2&0&3", "", ""); u.Serial != "" || u.Manufacturer != "" {
		t.Errorf("a port-path instance id is not a serial number: %+v", u)
	}
	got := withUSB(comPort("x", "COM3"), want)
	if got.Name != "COM3" || got.Driver != "x" || got.Serial != want.Serial || got.Description() != "Honeywell Honeywell 1900 (COM3) (USB 0c2e:0b61, x)" {
		t.Errorf("withUSB = %+v (%q)", got, got.Description())
	}
}
