package main

import (
	"context"

	"github.com/spf13/cobra"

	"cardtill/internal/config"
	"cardtill/internal/doctor"
)

// The doctor command: flags and exit codes. The checks live in
// internal/doctor.

func newDoctorCmd(g *globals) *cobra.Command {
	var asJSON, asHub bool
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check that this till (or hub) is fit to serve, and say what to fix",
		Long: `cardtill doctor checks the config, the secrets it names, the journal (opens,
consistent, how full against store.max_size_mb: a warning from 80%), the
queue (how many codes wait for WeChat and since when, codes in doubt,
conflicts a manager must see), the log, the scanner port, WeChat and the hub
(reachable, clock skew from their Date header, a token obtainable the way
the till gets it), and says for each finding what to do. It changes nothing
and never prints a secret.

It runs beside a running till: the journal is then "in use by the running
till (ok)" and its figures come from the till through its control socket
(run doctor as the till's user or root for that; the full consistency check
of a running till's journal is 'cardtill db check').

With --json one object is printed: version, fit, config, findings (name,
status ok|warn|fail, detail, fix) and, when the journal could be read,
journal: {journal, size, max, waiting, in_doubt, oldest, next_due,
conflicts, pid} for monitoring.

Exit code: 0 fit to serve (warnings allowed), 1 not fit, 2 the config
cannot be read.

With --hub it checks this machine as the hub instead: the [hub] section, the
push settings, the hub's file, its TLS certificate, its listen address, and
a token from WeChat with the hub's AppID and AppSecret.`,
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runDoctor(cmd.Context(), g, asJSON, asHub)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the findings as JSON")
	cmd.Flags().BoolVar(&asHub, "hub", false, "check this machine as the hub (cardtill hub), not as a till")
	return cmd
}

func runDoctor(ctx context.Context, g *globals, asJSON, asHub bool) error {
	cfg, err := g.config()
	if err != nil {
		path, _ := config.ResolvePath(g.configPath, g.env)
		if werr := doctor.Print(g.stdout, version, path, []doctor.Finding{doctor.ConfigUnreadable(err)}, nil, asJSON); werr != nil {
			return werr
		}
		return withExit(exitUsage, nil)
	}
	d := doctor.New(cfg, g.env)
	var findings []doctor.Finding
	if asHub {
		findings = d.Hub(ctx)
	} else {
		findings = d.Till(ctx)
	}
	if err := doctor.Print(g.stdout, version, cfg.Path, findings, d.Journal(), asJSON); err != nil {
		return err
	}
	if !doctor.Fit(findings) {
		return withExit(exitFailure, nil)
	}
	return nil
}
