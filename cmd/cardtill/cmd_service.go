package main

import (
	"path/filepath"

	"github.com/spf13/cobra"

	"cardtill/internal/config"
	"cardtill/internal/winsvc"
)

// The Windows service that runs the hub: its names and restart policy
// are internal/winsvc's.

func newServiceCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Install, remove, start or stop the hub as a Windows service",
		Long: `cardtill service manages the Windows service "` + winsvc.Name + `", which runs
'cardtill hub' at boot as LocalSystem and is restarted by Windows 5 s, 30 s
and 60 s after a failure. Run these from an Administrator prompt.

  cardtill service install     [--config FILE]  (default %ProgramData%\cardtill\config.toml)
  cardtill service start
  cardtill service stop
  cardtill service uninstall

The service logs to [log] file, or cardtill.log next to the hub's file
(hub.store_path), so a till on the same PC keeps its own log.
Windows only: on Linux the package ships systemd units.`,
		Args: exactArgs(0, "a subcommand: install, uninstall, start or stop"),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	sub := func(use, short string, run func(*globals) error) *cobra.Command {
		return &cobra.Command{
			Use:   use,
			Short: short,
			Args:  exactArgs(0, "no arguments"),
			RunE:  func(cmd *cobra.Command, args []string) error { return run(g) },
		}
	}
	run := sub("run", "Run as the service (started by the Windows service manager, not by hand)", serviceRun)
	run.Hidden = true
	cmd.AddCommand(
		sub("install", "Install the hub as a Windows service that starts at boot", serviceInstall),
		sub("uninstall", "Stop and remove the Windows service", serviceUninstall),
		sub("start", "Start the Windows service", serviceStart),
		sub("stop", "Stop the Windows service", serviceStop),
		run,
	)
	return cmd
}

// serviceLogFile is where the hub service logs when [log] file is empty:
// cardtill.log next to the hub's file (hub.store_path). Not next to the
// journal: a till on the same PC, run by the cashier's Windows user, logs
// there, and the hub's folder is the service's alone.
func serviceLogFile(cfg *config.Config) string {
	return filepath.Join(filepath.Dir(cfg.Hub.StorePath), "cardtill.log")
}
