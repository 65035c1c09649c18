//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"cardtill/internal/config"
	"cardtill/internal/doctor"
)

// recoveryActions restart the hub after serviceRestartDelays (cmd_service.go).
var recoveryActions = func() []mgr.RecoveryAction {
	var out []mgr.RecoveryAction
	for _, d := range serviceRestartDelays {
		out = append(out, mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: d})
	}
	return out
}()

const recoveryResetSeconds = uint32(serviceRecoveryReset / time.Second)

// connectManager opens the service manager, explaining the usual failure.
func connectManager() (*mgr.Mgr, error) {
	m, err := mgr.Connect()
	if err != nil {
		if errors.Is(err, windows.ERROR_ACCESS_DENIED) {
			return nil, errors.New("the Windows service manager refused access: run this from an Administrator prompt")
		}
		return nil, fmt.Errorf("connect to the Windows service manager: %w", err)
	}
	return m, nil
}

func openService(m *mgr.Mgr) (*mgr.Service, error) {
	s, err := m.OpenService(serviceName)
	if err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
			return nil, fmt.Errorf("service %s is not installed: run 'cardtill service install'", serviceName)
		}
		return nil, fmt.Errorf("open service %s: %w", serviceName, err)
	}
	return s, nil
}

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
	m, err := connectManager()
	if err != nil {
		return withExit(exitFailure, err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(serviceName); err == nil {
		s.Close()
		return withExit(exitFailure, fmt.Errorf("service %s is already installed: 'cardtill service uninstall' first to change it", serviceName))
	}
	s, err := m.CreateService(serviceName, exe, mgr.Config{
		DisplayName:      serviceDisplayName,
		Description:      serviceDescription,
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: true,
	}, "service", "run", "--config", path)
	if err != nil {
		return withExit(exitFailure, fmt.Errorf("create service %s: %w", serviceName, err))
	}
	defer s.Close()
	if err := s.SetRecoveryActions(recoveryActions, recoveryResetSeconds); err != nil {
		_ = s.Delete()
		return withExit(exitFailure, fmt.Errorf("set recovery actions of %s: %w", serviceName, err))
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		_ = s.Delete()
		return withExit(exitFailure, fmt.Errorf("set recovery actions of %s: %w", serviceName, err))
	}
	fmt.Fprintf(g.stdout, "installed service %s (%s service run --config %s); start it with 'cardtill service start'\n", serviceName, exe, path)
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
	m, err := connectManager()
	if err != nil {
		return withExit(exitFailure, err)
	}
	defer m.Disconnect()
	s, err := openService(m)
	if err != nil {
		return withExit(exitFailure, err)
	}
	defer s.Close()
	if st, err := s.Query(); err == nil && st.State != svc.Stopped {
		if err := stopAndWait(s); err != nil {
			return withExit(exitFailure, err)
		}
	}
	if err := s.Delete(); err != nil {
		return withExit(exitFailure, fmt.Errorf("delete service %s: %w", serviceName, err))
	}
	fmt.Fprintf(g.stdout, "removed service %s; the config and journal in %s are kept\n", serviceName, filepath.Dir(config.DefaultPath()))
	return nil
}

func serviceStart(g *globals) error {
	m, err := connectManager()
	if err != nil {
		return withExit(exitFailure, err)
	}
	defer m.Disconnect()
	s, err := openService(m)
	if err != nil {
		return withExit(exitFailure, err)
	}
	defer s.Close()
	if err := s.Start(); err != nil {
		return withExit(exitFailure, fmt.Errorf("start service %s: %w", serviceName, err))
	}
	if err := waitState(s, svc.Running, 30*time.Second); err != nil {
		where := "cardtill.log next to hub.store_path"
		if cfg, cerr := g.config(); cerr == nil {
			where = serviceLogFile(cfg)
		}
		return withExit(exitFailure, fmt.Errorf("%w: see the log (%s)", err, where))
	}
	fmt.Fprintf(g.stdout, "service %s is running\n", serviceName)
	return nil
}

func serviceStop(g *globals) error {
	m, err := connectManager()
	if err != nil {
		return withExit(exitFailure, err)
	}
	defer m.Disconnect()
	s, err := openService(m)
	if err != nil {
		return withExit(exitFailure, err)
	}
	defer s.Close()
	if err := stopAndWait(s); err != nil {
		return withExit(exitFailure, err)
	}
	fmt.Fprintf(g.stdout, "service %s is stopped\n", serviceName)
	return nil
}

func stopAndWait(s *mgr.Service) error {
	if _, err := s.Control(svc.Stop); err != nil {
		return fmt.Errorf("stop service %s: %w", serviceName, err)
	}
	return waitState(s, svc.Stopped, 40*time.Second)
}

// waitState polls the service manager until the service reaches want.
func waitState(s *mgr.Service, want svc.State, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st, err := s.Query()
		if err != nil {
			return fmt.Errorf("query service %s: %w", serviceName, err)
		}
		if st.State == want {
			return nil
		}
		if want == svc.Running && st.State == svc.Stopped {
			return fmt.Errorf("service %s stopped right after starting (exit code %d)", serviceName, st.ServiceSpecificExitCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s did not reach the wanted state within %s", serviceName, limit)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// serviceRun is what the service manager starts: the hub, stopped by a
// Stop or Shutdown request.
func serviceRun(g *globals) error {
	isSvc, err := svc.IsWindowsService()
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
	return svc.Run(serviceName, &hubService{g: g})
}

type hubService struct{ g *globals }

func (h *hubService) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runHub(ctx, h.g) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			// The hub ended by itself: report a failure so that the
			// recovery actions restart it.
			h.logExit(err)
			return true, uint32(exitCodeOf(err))
		case c := <-req:
			switch c.Cmd {
			case svc.Interrogate:
				status <- c.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending}
				cancel()
				if err := <-done; err != nil {
					h.logExit(err)
				}
				return false, 0
			}
		}
	}
}

func (h *hubService) logExit(err error) {
	cfg, cerr := h.g.config()
	if cerr != nil || err == nil {
		return
	}
	if log, lerr := h.g.logger(cfg, false); lerr == nil {
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
