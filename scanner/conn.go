package scanner

import (
	"errors"
	"io"
	"strings"
	"time"

	"github.com/tarm/serial"
)

// conn is one open serial port.
type conn struct {
	port *serial.Port
	// release frees what openConn took besides the port (the advisory
	// lock on Unix).
	release func()
	// stillThere reports an error once the device path is gone or names
	// a different device than the one opened.
	stillThere func() error
}

func (c *conn) close() {
	if c == nil {
		return
	}
	_ = c.port.Close()
	if c.release != nil {
		c.release()
	}
}

// openConn opens cfg.Port with its line settings, or says plainly why not
// (*OpenError).
func openConn(cfg Config, readTimeout time.Duration) (*conn, error) {
	sc := &serial.Config{
		Name:        cfg.Port,
		Baud:        cfg.Baud,
		ReadTimeout: readTimeout,
		Size:        byte(cfg.DataBits),
		StopBits:    serial.StopBits(cfg.StopBits),
	}
	switch cfg.Parity {
	case "odd":
		sc.Parity = serial.ParityOdd
	case "even":
		sc.Parity = serial.ParityEven
	case "mark":
		sc.Parity = serial.ParityMark
	case "space":
		sc.Parity = serial.ParitySpace
	default:
		sc.Parity = serial.ParityNone
	}
	release, err := lockPort(cfg.Port)
	if err != nil {
		return nil, err
	}
	p, err := serial.OpenPort(sc)
	if err != nil {
		release()
		return nil, classifyOpenError(cfg.Port, err)
	}
	c := &conn{port: p, release: release, stillThere: watchPath(cfg.Port)}
	return c, nil
}

// badSettings recognises tarm/serial's refusals of the line settings.
func badSettings(port string, err error) *OpenError {
	if errors.Is(err, serial.ErrBadSize) || errors.Is(err, serial.ErrBadParity) ||
		errors.Is(err, serial.ErrBadStopBits) || strings.Contains(err.Error(), "baud rate") {
		return &OpenError{Port: port, Kind: OpenBadSettings, Err: err,
			Hint: "the baud rate, data bits, parity and stop bits must be what the scanner uses (its manual lists them)"}
	}
	return nil
}

var _ io.Closer = (*serial.Port)(nil)
