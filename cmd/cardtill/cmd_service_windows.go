//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"cardtill/internal/config"
	"cardtill/internal/doctor"
	"cardtill/internal/winsvc"
)

func serviceInstall(g *globals) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find cardtill.exe: %w", err)
	}
	exe, err = filepath.Abs(exe)
	if err != nil {
		return err
	}
	path, _ := config.ResolvePath(g.configPath, g.env)
	if path, err = filepath.Abs(path); err != nil {
		return err
	}
	// Refuse a config the service could not start with.
	cfg, err := config.Load(path, g.env)
	if err != nil {
		return err
	}
	if _, err := config.NewPushCodec(cfg); err != nil {
		return err
	}
	warnReadableSecrets(g, cfg)
	if err := winsvc.Install(exe, "service", "run", "--config", path); err != nil {
		return withExit(exitFailure, err)
	}
	fmt.Fprintf(g.stdout, "installed service %s (%s service run --config %s); start it with 'cardtill service start'\n", winsvc.Name, exe, path)
	return nil
}

// warnReadableSecrets warns when the hub's config (holding the push Token
// or AES key) or its AppSecret file can be read by every user: the service
// runs as LocalSystem, so only Administrators and SYSTEM need them.
func warnReadableSecrets(g *globals, cfg *config.Config) {
	for _, e := range doctor.HubSecretsExposed(cfg) {
		fmt.Fprintf(g.stderr, "warning: every user of this PC can read %s, which holds a secret of the hub: %s\n", e.Path, e.Fix)
	}
}

func serviceUninstall(g *globals) error {
	if err := winsvc.Uninstall(); err != nil {
		return withExit(exitFailure, err)
	}
	fmt.Fprintf(g.stdout, "removed service %s; the config and journal in %s are kept\n", winsvc.Name, filepath.Dir(config.DefaultPath()))
	return nil
}

func serviceStart(g *globals) error {
	if err := winsvc.Start(); err != nil {
		where := "cardtill.log next to hub.store_path"
		if cfg, cerr := g.config(); cerr == nil {
			where = serviceLogFile(cfg)
		}
		return withExit(exitFailure, fmt.Errorf("%w: see the log (%s)", err, where))
	}
	fmt.Fprintf(g.stdout, "service %s is running\n", winsvc.Name)
	return nil
}

func serviceStop(g *globals) error {
	if err := winsvc.Stop(); err != nil {
		return withExit(exitFailure, err)
	}
	fmt.Fprintf(g.stdout, "service %s is stopped\n", winsvc.Name)
	return nil
}

// serviceRun is what the service manager starts: the hub, stopped by a
// Stop or Shutdown request.
func serviceRun(g *globals) error {
	isSvc, err := winsvc.IsService()
	if err != nil {
		return err
	}
	if !isSvc {
		return usageError(errors.New("'cardtill service run' is started by the Windows service manager: to run the hub in this window use 'cardtill hub'"))
	}
	// A service has no console: logs go to the file.
	g.stdout, g.stderr = io.Discard, io.Discard
	if cfg, err := g.config(); err == nil && cfg.Log.File == "" {
		cfg.Log.File = serviceLogFile(cfg)
	}
	return winsvc.Run(func(ctx context.Context) error { return runHub(ctx, g) }, func(err error) { logHubExit(g, err) }, exitCodeOf)
}

// logHubExit writes why the hub service ended to its log.
func logHubExit(g *globals, err error) {
	cfg, cerr := g.config()
	if cerr != nil || err == nil {
		return
	}
	if log, lerr := g.logger(cfg, false); lerr == nil {
		log.Error("hub stopped", "err", err)
	}
}

// exitCodeOf maps err the way main does, for the service manager.
func exitCodeOf(err error) int {
	if err == nil {
		return exitFailure
	}
	return exitCode(err, io.Discard)
}
