package main

import (
	"github.com/spf13/cobra"

	"cardtill/internal/till"
)

// newRunCmd is `cardtill run`: the till screen on the real configuration.
// Logs go to the [log] file, never to the screen.
func newRunCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the till screen (scanner from [scanner], else keyboard only)",
		Long: `cardtill run is the till screen on the real config: scan (a serial scanner
on scanner.port, or a keyboard-wedge scanner typing into the screen) and the
answer shows at once. It drains the offline queue in the background and, with
wechat.hub_url, pulls the hub's code-status feed.

Keys: F1 help, F2 shift, F3 queue and conflicts (F6 marks them seen), F4 the
shift report, F5 sync now, F7 at the offline limit a manager's override
(offline.manager_pin_hash), Esc back, Ctrl+C quit.

It logs to log.file (default cardtill.log next to the journal), never to the
screen, and answers 'cardtill db check', 'db backup' and 'doctor' through a
control socket next to the journal (<store.path>.sock).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			logger, err := g.logger(cfg, false)
			if err != nil {
				return err
			}
			return till.Run(cmd.Context(), till.Env{Getenv: g.env, Stdin: g.stdin, Stdout: g.stdout, Version: version}, cfg, logger)
		},
	}
}
