package main

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

	"github.com/spf13/cobra"

	"cardtill/internal/config"
	"cardtill/scanner"
)

func newPortsCmd(g *globals) *cobra.Command {
	var (
		asJSON bool
		listen bool
		count  int
	)
	cmd := &cobra.Command{
		Use:   "ports [--json] | ports --listen [PORT]",
		Short: "List the serial ports this machine sees, or read scans from one",
		Long: `cardtill ports lists the serial ports this machine sees, with what is known
about each: on Linux the stable /dev/serial/by-id name (write that one in
scanner.port: it survives replugging), the device and its USB vendor/product;
on Windows the COM ports from the registry (COM10 and above may be written
\\.\COM10). The configured scanner.port is marked.

With --listen it opens PORT (default: scanner.port) with the [scanner]
settings and prints every scan, refusal and (dis)connection until Ctrl+C, or
until --count scans were read: the way to check a scanner's settings.

A keyboard-wedge (USB HID) scanner is not a serial port: it types into the
till screen and needs no scanner.port.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && !listen {
				return &usageErr{msg: "cardtill ports: a PORT is only taken with --listen; see 'cardtill ports --help'"}
			}
			sc := configuredScanner(g)
			if listen {
				if len(args) == 1 {
					sc.Port = args[0]
				}
				return runPortsListen(cmd.Context(), g, sc, asJSON, count)
			}
			return runPortsList(g.stdout, sc.Port, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (one array; with --listen one object per line)")
	cmd.Flags().BoolVar(&listen, "listen", false, "read scans from PORT (default scanner.port) and print them")
	cmd.Flags().IntVar(&count, "count", 0, "with --listen: stop after this many scans (0 = until Ctrl+C)")
	return cmd
}

// configuredScanner is the [scanner] section when a config file can be
// read, else the defaults: listing ports must work before anything is
// configured.
func configuredScanner(g *globals) scanner.Config {
	cfg, err := g.config()
	if err != nil {
		return config.Default().Scanner.Serial()
	}
	return cfg.Scanner.Serial()
}

// portRow is one port as `ports --json` prints it.
type portRow struct {
	scanner.PortInfo
	Description string `json:"description,omitempty"`
	Configured  bool   `json:"configured"`
}

func runPortsList(w io.Writer, configured string, asJSON bool) error {
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

func runPortsListen(ctx context.Context, g *globals, sc scanner.Config, asJSON bool, count int) error {
	if sc.Port == "" {
		return usageError(errors.New("no port to listen on: give one (cardtill ports --listen /dev/ttyACM0) or set scanner.port"))
	}
	if ctx == nil {
		ctx = context.Background()
	}
	r, err := scanner.Open(ctx, sc, scanner.Options{WaitForPort: true})
	if err != nil {
		var ce *scanner.ConfigError
		if errors.As(err, &ce) {
			return usageError(err)
		}
		return err
	}
	defer r.Close()
	if !asJSON {
		fmt.Fprintf(g.stdout, "Listening on %s (%d baud, terminator %s). Scan a code; Ctrl+C stops.\n",
			sc.Port, sc.WithDefaults().Baud, sc.WithDefaults().Terminator)
	}
	enc := json.NewEncoder(g.stdout)
	scans := 0
	for ev := range r.Events() {
		line := listenLine{At: ev.At, Event: ev.Kind.String(), Port: ev.Port, Raw: ev.Scan.Raw, Symbology: ev.Scan.Symbology}
		var re *scanner.RejectError
		switch {
		case ev.Err != nil:
			line.Error = ev.Err.Error()
		case errors.As(ev.Scan.Err, &re):
			line.Refused, line.Error = re.Kind.String(), re.Error()
		case ev.Kind == scanner.EventScan:
			p := ev.Scan.Payload
			line.Payload = &p
		}
		if asJSON {
			if err := enc.Encode(line); err != nil {
				return err
			}
		} else {
			printListenLine(g.stdout, line)
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

func printListenLine(w io.Writer, l listenLine) {
	ts := l.At.Format("15:04:05.000")
	switch {
	case l.Event == "connected":
		fmt.Fprintf(w, "%s connected: %s\n", ts, l.Port)
	case l.Event == "disconnected":
		fmt.Fprintf(w, "%s disconnected: %s\n", ts, l.Error)
	case l.Payload != nil:
		fmt.Fprintf(w, "%s scan %q%s -> code=%q card_id=%q encrypt_code=%q\n", ts, l.Raw, portsSymbology(l.Symbology),
			l.Payload.Code, l.Payload.CardID, l.Payload.EncryptCode)
	default:
		fmt.Fprintf(w, "%s %s %q%s: %s\n", ts, l.Event, l.Raw, portsSymbology(l.Symbology), l.Error)
	}
}

func portsSymbology(s string) string {
	if s == "" {
		return ""
	}
	return " [" + s + "]"
}
