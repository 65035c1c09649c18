// Package printer owns the ESC/POS receipt printer: it encodes a receipt
// (the X and Z reports, a conflict slip) as the bytes such a printer
// takes — ESC @ to initialise, FS & for Chinese mode, the text in GB18030,
// a feed and a cut — and sends them to a device file (/dev/usb/lp0, a
// COM port on Windows) or a serial port (tarm/serial, as the scanner).
//
// A print never blocks its caller beyond Options.Timeout: the write runs
// in its own goroutine, and a printer that is missing, refuses or stops
// answering gives a clear error. While an earlier write is still stuck
// the printer says so at once instead of queueing behind it.
package printer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	stdsync "sync"
	"time"

	"github.com/tarm/serial"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// ESC/POS commands used.
var (
	cmdInit    = []byte{0x1b, 0x40}             // ESC @: initialise
	cmdChinese = []byte{0x1c, 0x26}             // FS &: Chinese character mode (GB18030 / GBK printers)
	cmdFeed    = []byte{0x1b, 0x64, 0x04}       // ESC d 4: feed four lines past the cutter
	cmdCut     = []byte{0x1d, 0x56, 0x42, 0x00} // GS V 66 0: feed to the cutter and cut (partial)
)

// Encode turns receipt text (lines separated by \n) into ESC/POS bytes:
// init, Chinese mode, the text in GB18030 with LF line ends, a feed and a
// cut. Control characters other than \n are dropped so text can never
// send a command of its own.
func Encode(text string) ([]byte, error) {
	clean := strings.Map(func(r rune) rune {
		if r == '\n' || (r >= 0x20 && r != 0x7f && (r < 0x80 || r >= 0xa0)) {
			return r
		}
		return -1
	}, strings.ReplaceAll(text, "\r\n", "\n"))
	if !strings.HasSuffix(clean, "\n") {
		clean += "\n"
	}
	body, err := simplifiedchinese.GB18030.NewEncoder().String(clean)
	if err != nil {
		return nil, fmt.Errorf("printer: encode the receipt in GB18030: %w", err)
	}
	var b bytes.Buffer
	b.Write(cmdInit)
	b.Write(cmdChinese)
	b.WriteString(body)
	b.Write(cmdFeed)
	b.Write(cmdCut)
	return b.Bytes(), nil
}

// Options say where the printer is.
type Options struct {
	// Port is the device: a device file (/dev/usb/lp0, /dev/lp0; COM3 or
	// \\.\COM3 on Windows) when Baud is 0, else a serial port.
	Port string
	// Baud > 0 opens Port as a serial port at that speed (8N1).
	Baud int
	// Timeout bounds one print: opening the device and writing the
	// receipt (default 5s).
	Timeout time.Duration
}

// Printer sends receipts to one device. The zero value is unusable; use New.
type Printer struct {
	o    Options
	mu   stdsync.Mutex
	busy bool // a write has not returned yet
	// open opens the device (tests may stall it).
	open func() (io.WriteCloser, error)
}

// New returns a printer for o (nothing is opened until Print).
func New(o Options) *Printer {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	p := &Printer{o: o}
	p.open = p.openDevice
	return p
}

// Errors a print can end with (wrapped with the device and what to do
// about it there; the config key is the command line's to name).
var (
	ErrNotSetUp = errors.New("printer: no printer is set up")
	ErrMissing  = errors.New("printer not found")
	ErrStalled  = errors.New("printer does not answer")
	ErrBusy     = errors.New("printer still busy with the last receipt")
)

func (p *Printer) openDevice() (io.WriteCloser, error) {
	if p.o.Baud > 0 {
		return serial.OpenPort(&serial.Config{Name: p.o.Port, Baud: p.o.Baud, Size: 8, StopBits: serial.Stop1, Parity: serial.ParityNone})
	}
	return os.OpenFile(p.o.Port, os.O_WRONLY|os.O_APPEND, 0)
}

// Print encodes text (Encode) and sends it, waiting at most Timeout and
// never past ctx.
func (p *Printer) Print(ctx context.Context, text string) error {
	data, err := Encode(text)
	if err != nil {
		return err
	}
	return p.Send(ctx, data)
}

// Send writes data (already ESC/POS) to the printer.
func (p *Printer) Send(ctx context.Context, data []byte) error {
	if p.o.Port == "" {
		return ErrNotSetUp
	}
	p.mu.Lock()
	if p.busy {
		p.mu.Unlock()
		return fmt.Errorf("printer %s: %w (it stopped answering): check it is on, has paper and its cover is closed", p.o.Port, ErrBusy)
	}
	p.busy = true
	p.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		defer func() { p.mu.Lock(); p.busy = false; p.mu.Unlock() }()
		w, err := p.open()
		if err != nil {
			done <- p.openError(err)
			return
		}
		_, err = w.Write(data)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			err = fmt.Errorf("printer %s: writing the receipt: %w: check the cable and that the printer is on", p.o.Port, err)
		}
		done <- err
	}()
	t := time.NewTimer(p.o.Timeout)
	defer t.Stop()
	select {
	case err := <-done:
		return err
	case <-t.C:
		return fmt.Errorf("printer %s: %w within %s: check it is on, has paper and its cover is closed", p.o.Port, ErrStalled, p.o.Timeout)
	case <-ctx.Done():
		return fmt.Errorf("printer %s: %w", p.o.Port, ctx.Err())
	}
}

func (p *Printer) openError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("printer %s: %w: check the cable and that the printer is on", p.o.Port, ErrMissing)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("printer %s: permission denied: the till's user must be allowed to write it (the group lp for /dev/usb/lp*, dialout for serial ports)", p.o.Port)
	}
	return fmt.Errorf("printer %s: %w", p.o.Port, err)
}
