//go:build windows

package winsvc

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// Install creates the service, started automatically (delayed) as
// "exe args...", with the restart policy. It refuses when the service is
// already installed.
func Install(exe string, args ...string) error {
	m, err := connectManager()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	if s, err := m.OpenService(Name); err == nil {
		s.Close()
		return fmt.Errorf("service %s is already installed: 'cardtill service uninstall' first to change it", Name)
	}
	s, err := m.CreateService(Name, exe, mgr.Config{
		DisplayName:      DisplayName,
		Description:      Description,
		StartType:        mgr.StartAutomatic,
		DelayedAutoStart: true,
	}, args...)
	if err != nil {
		return fmt.Errorf("create service %s: %w", Name, err)
	}
	defer s.Close()
	if err := s.SetRecoveryActions(recoveryActions, recoveryResetSeconds); err != nil {
		_ = s.Delete()
		return fmt.Errorf("set recovery actions of %s: %w", Name, err)
	}
	if err := s.SetRecoveryActionsOnNonCrashFailures(true); err != nil {
		_ = s.Delete()
		return fmt.Errorf("set recovery actions of %s: %w", Name, err)
	}
	return nil
}

// Uninstall stops the service if it runs and removes it.
func Uninstall() error {
	return withService(func(s *mgr.Service) error {
		if st, err := s.Query(); err == nil && st.State != svc.Stopped {
			if err := stopAndWait(s); err != nil {
				return err
			}
		}
		if err := s.Delete(); err != nil {
			return fmt.Errorf("delete service %s: %w", Name, err)
		}
		return nil
	})
}

// Start starts the service and waits until it runs (30 s at most).
func Start() error {
	return withService(func(s *mgr.Service) error {
		if err := s.Start(); err != nil {
			return fmt.Errorf("start service %s: %w", Name, err)
		}
		return waitState(s, svc.Running, 30*time.Second)
	})
}

// Stop stops the service and waits until it has (40 s at most).
func Stop() error { return withService(stopAndWait) }

// withService runs f on the installed service.
func withService(f func(*mgr.Service) error) error {
	m, err := connectManager()
	if err != nil {
		return err
	}
	defer m.Disconnect()
	s, err := openService(m)
	if err != nil {
		return err
	}
	defer s.Close()
	return f(s)
}

// IsService reports whether this process was started by the service
// manager.
func IsService() (bool, error) { return svc.IsWindowsService() }

// Run runs serve as the service until it ends by itself (reported as a
// failure with exitCode(err), so the recovery actions restart it) or the
// service manager asks it to stop (its context is cancelled and Run waits
// for it). logExit is told why serve ended, when it ended with an error.
func Run(serve func(context.Context) error, logExit func(error), exitCode func(error) int) error {
	return svc.Run(Name, &service{serve: serve, logExit: logExit, exitCode: exitCode})
}

type service struct {
	serve    func(context.Context) error
	logExit  func(error)
	exitCode func(error) int
}

func (h *service) Execute(_ []string, req <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.serve(ctx) }()
	status <- svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	for {
		select {
		case err := <-done:
			if err != nil {
				h.logExit(err)
			}
			return true, uint32(h.exitCode(err))
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

// recoveryActions restart the hub after RestartDelays.
var recoveryActions = func() []mgr.RecoveryAction {
	var out []mgr.RecoveryAction
	for _, d := range RestartDelays {
		out = append(out, mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: d})
	}
	return out
}()

const recoveryResetSeconds = uint32(RecoveryReset / time.Second)

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
	s, err := m.OpenService(Name)
	if err != nil {
		if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
			return nil, fmt.Errorf("service %s is not installed: run 'cardtill service install'", Name)
		}
		return nil, fmt.Errorf("open service %s: %w", Name, err)
	}
	return s, nil
}

func stopAndWait(s *mgr.Service) error {
	if _, err := s.Control(svc.Stop); err != nil {
		return fmt.Errorf("stop service %s: %w", Name, err)
	}
	return waitState(s, svc.Stopped, 40*time.Second)
}

// waitState polls the service manager until the service reaches want.
func waitState(s *mgr.Service, want svc.State, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st, err := s.Query()
		if err != nil {
			return fmt.Errorf("query service %s: %w", Name, err)
		}
		if st.State == want {
			return nil
		}
		if want == svc.Running && st.State == svc.Stopped {
			return fmt.Errorf("service %s stopped right after starting (exit code %d)", Name, st.ServiceSpecificExitCode)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("service %s did not reach the wanted state within %s", Name, limit)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
