package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"cardtill/internal/config"
	"cardtill/internal/ports"
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
				return usageError(errors.New("cardtill ports: a PORT is only taken with --listen; see 'cardtill ports --help'"))
			}
			sc := configuredScanner(g)
			if listen {
				if len(args) == 1 {
					sc.Port = args[0]
				}
				return portsListen(cmd.Context(), g, sc, asJSON, count)
			}
			return ports.List(g.stdout, sc.Port, asJSON)
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

// portsListen is ports.Listen with the command line's exit codes: no port
// or settings the scanner refuses are usage errors.
func portsListen(ctx context.Context, g *globals, sc scanner.Config, asJSON bool, count int) error {
	err := ports.Listen(ctx, g.stdout, sc, asJSON, count)
	var ce *scanner.ConfigError
	switch {
	case errors.Is(err, ports.ErrNoPort):
		return usageError(errors.New("no port to listen on: give one (cardtill ports --listen /dev/ttyACM0) or set scanner.port"))
	case errors.As(err, &ce):
		return usageError(err)
	}
	return err
}
