package main

import (
	"encoding/xml"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"cardtill/internal/winsvc"
)

// wxsFile is what of packaging/windows/cardtill.wxs the code must agree with.
type wxsFile struct {
	Service struct {
		Name        string `xml:"Name,attr"`
		DisplayName string `xml:"DisplayName,attr"`
		Description string `xml:"Description,attr"`
		Arguments   string `xml:"Arguments,attr"`
		Start       string `xml:"Start,attr"`
	} `xml:"Product>Directory>Directory>Directory>Component>ServiceInstall"`
	Control struct {
		Name string `xml:"Name,attr"`
	} `xml:"Product>Directory>Directory>Directory>Component>ServiceControl"`
	Actions []struct {
		ID         string `xml:"Id,attr"`
		ExeCommand string `xml:"ExeCommand,attr"`
	} `xml:"Product>CustomAction"`
	Shortcuts []struct {
		ID        string `xml:"Id,attr"`
		Arguments string `xml:"Arguments,attr"`
	} `xml:"Product>Directory>Directory>Directory>Component>Shortcut"`
	Startup []struct {
		ID        string `xml:"Id,attr"`
		Arguments string `xml:"Arguments,attr"`
	} `xml:"Product>Directory>Directory>Component>Shortcut"`
}

func readWXS(t *testing.T) wxsFile {
	t.Helper()
	b, err := os.ReadFile("../../packaging/windows/cardtill.wxs")
	if err != nil {
		t.Fatal(err)
	}
	var w wxsFile
	if err := xml.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return w
}

// The MSI installs the same service `cardtill service install` does: name,
// display name, description, the hidden `service run --config` entry
// point, and the same recovery schedule.
func TestMSIServiceMatchesCode(t *testing.T) {
	t.Parallel()
	w := readWXS(t)
	s := w.Service
	if s.Name != winsvc.Name || w.Control.Name != winsvc.Name || s.DisplayName != winsvc.DisplayName || s.Description != winsvc.Description {
		t.Errorf("wxs service %q/%q (%q), control %q; code: %q/%q (%q)", s.Name, s.DisplayName, s.Description, w.Control.Name, winsvc.Name, winsvc.DisplayName, winsvc.Description)
	}
	if !strings.HasPrefix(s.Arguments, "service run --config ") {
		t.Errorf("service arguments %q do not start the hub as 'cardtill service run'", s.Arguments)
	}
	if cmd, _, err := newRootCmd(&globals{}).Find([]string{"service", "run"}); err != nil || cmd.Name() != "run" {
		t.Errorf("'cardtill service run' is not a command: %v", err)
	}
	var actions []string
	for _, d := range winsvc.RestartDelays {
		actions = append(actions, fmt.Sprintf("restart/%d", d.Milliseconds()))
	}
	want := fmt.Sprintf("sc.exe failure %s reset= %d actions= %s ", winsvc.Name, int(winsvc.RecoveryReset/time.Second), strings.Join(actions, "/"))
	var recovery string
	for _, a := range w.Actions {
		if a.ID == "HubRecovery" {
			recovery = a.ExeCommand
		}
	}
	if !strings.Contains(recovery, want) {
		t.Errorf("HubRecovery %q lacks %q", recovery, want)
	}
	if !strings.Contains(recovery, "failureflag "+winsvc.Name+" 1") {
		t.Errorf("HubRecovery %q does not restart on non-crash failures (the code sets SetRecoveryActionsOnNonCrashFailures)", recovery)
	}
}

// The Start-menu and Startup shortcuts run commands that exist.
func TestMSIShortcutsRunCommands(t *testing.T) {
	t.Parallel()
	w := readWXS(t)
	for _, sc := range w.Startup {
		w.Shortcuts = append(w.Shortcuts, struct {
			ID        string `xml:"Id,attr"`
			Arguments string `xml:"Arguments,attr"`
		}(sc))
	}
	if len(w.Shortcuts) != 3 {
		t.Fatalf("%d shortcuts in the wxs, want 3 (till and doctor in the Start menu, till at logon)", len(w.Shortcuts))
	}
	for _, sc := range w.Shortcuts {
		line := sc.Arguments
		if rest, ok := strings.CutPrefix(line, "/k "); ok { // cmd /k ""[#CardtillExe]" doctor"
			rest = strings.TrimSuffix(strings.TrimPrefix(rest, `"`), `"`)
			var exe bool
			if line, exe = strings.CutPrefix(rest, `"[#CardtillExe]" `); !exe {
				t.Errorf("%s: cmd /k does not run cardtill.exe: %q", sc.ID, sc.Arguments)
			}
		}
		args := strings.Fields(line)
		if len(args) == 0 {
			t.Errorf("%s: no command in %q", sc.ID, sc.Arguments)
			continue
		}
		if cmd, _, err := newRootCmd(&globals{}).Find(args); err != nil || cmd.Name() != args[0] {
			t.Errorf("%s: 'cardtill %s' is not a command (%v)", sc.ID, strings.Join(args, " "), err)
		}
	}
}
