// Package ports owns `cardtill ports`: the serial ports this machine sees
// (the configured one marked) and a listener that prints every scan,
// refusal and (dis)connection of one port, the way to check a scanner's
// settings. Package main keeps the flags and exit codes.
package ports

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"cardtill/internal/advice"
	"cardtill/scanner"
)

// portRow is one port as `ports --json` prints it.
type portRow struct {
	scanner.PortInfo
	Description string `json:"description,omitempty"`
	Configured  bool   `json:"configured"`
}

// List prints the serial ports to w, a table or with asJSON one array,
// marking configured (a name, device or alias), and says when the
// configured port is not among them.
func List(w io.Writer, configured string, asJSON bool) error {
	ports, err := scanner.ListPorts()
	if err != nil {
		return fmt.Errorf("list serial ports: %w", err)
	}
	rows := make([]portRow, 0, len(ports))
	for _, p := range ports {
		isConf := configured != "" && (configured == p.Name || configured == p.Device || slices.Contains(p.Aliases, configured))
		rows = append(rows, portRow{PortInfo: p, Description: p.Description(), Configured: isConf})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "No serial ports found.")
		fmt.Fprintln(w, "Plug in the scanner (USB serial/CDC mode), or use it as a keyboard-wedge scanner and leave scanner.port empty.")
		if runtime.GOOS == "linux" {
			fmt.Fprintln(w, "'dmesg | tail' shows whether the kernel saw it.")
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PORT\tDEVICE\tDESCRIPTION")
	for _, r := range rows {
		desc := r.Description
		if r.Configured {
			desc = strings.TrimSpace(desc + " (configured)")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Device, desc)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if configured != "" && !slices.ContainsFunc(rows, func(r portRow) bool { return r.Configured }) {
		fmt.Fprintf(w, "\nscanner.port = %q is not among them: is the scanner plugged in?\n", configured)
	}
	return nil
}

// listenLine is one event as `ports --listen --json` prints it.
type listenLine struct {
	At        time.Time        `json:"at"`
	Event     string           `json:"event"`
	Port      string           `json:"port"`
	Raw       string           `json:"raw,omitempty"`
	Symbology string           `json:"symbology,omitempty"`
	Payload   *scanner.Payload `json:"payload,omitempty"`
	Refused   string           `json:"refused,omitempty"` // the RejectKind
	Error     string           `json:"error,omitempty"`
}

// ErrNoPort: Listen was given no port and none is configured.
var ErrNoPort = errors.New("no port to listen on: give one or set the scanner's port")

// Listen opens sc's port and prints its events to w (JSON lines with
// asJSON) until ctx ends or count scans were read (0: no limit). It
// returns ErrNoPort without a port, and the scanner's *ConfigError for
// settings it refuses.
func Listen(ctx context.Context, w io.Writer, sc scanner.Config, asJSON bool, count int) error {
	if sc.Port == "" {
		return ErrNoPort
	}
	if ctx == nil {
		ctx = context.Background()
	}
	r, err := scanner.Open(ctx, sc, scanner.Options{WaitForPort: true})
	if err != nil {
		return err
	}
	defer r.Close()
	if !asJSON {
		fmt.Fprintf(w, "Listening on %s (%d baud, terminator %s). Scan a code; Ctrl+C stops.\n",
			sc.Port, sc.WithDefaults().Baud, sc.WithDefaults().Terminator)
	}
	enc := json.NewEncoder(w)
	scans := 0
	for ev := range r.Events() {
		line := listenLine{At: ev.At, Event: ev.Kind.String(), Port: ev.Port, Raw: ev.Scan.Raw, Symbology: ev.Scan.Symbology}
		var re *scanner.RejectError
		switch {
		case ev.Err != nil:
			line.Error = advice.Text(ev.Err)
		case errors.As(ev.Scan.Err, &re):
			line.Refused, line.Error = re.Kind.String(), advice.Text(re)
		case ev.Kind == scanner.EventScan:
			p := ev.Scan.Payload
			line.Payload = &p
		}
		if asJSON {
			if err := enc.Encode(line); err != nil {
				return err
			}
		} else {
			printLine(w, line)
		}
		if ev.Kind == scanner.EventScan || ev.Kind == scanner.EventBadScan {
			scans++
			if count > 0 && scans >= count {
				return nil
			}
		}
	}
	return nil
}

func printLine(w io.Writer, l listenLine) {
	ts := l.At.Format("15:04:05.000")
	switch {
	case l.Event == "connected":
		fmt.Fprintf(w, "%s connected: %s\n", ts, l.Port)
	case l.Event == "disconnected":
		fmt.Fprintf(w, "%s disconnected: %s\n", ts, l.Error)
	case l.Payload != nil:
		fmt.Fprintf(w, "%s scan %q%s -> code=%q card_id=%q encrypt_code=%q\n", ts, l.Raw, symbology(l.Symbology),
			l.Payload.Code, l.Payload.CardID, l.Payload.EncryptCode)
	default:
		fmt.Fprintf(w, "%s %s %q%s: %s\n", ts, l.Event, l.Raw, symbology(l.Symbology), l.Error)
	}
}

func symbology(s string) string {
	if s == "" {
		return ""
	}
	return " [" + s + "]"
}
