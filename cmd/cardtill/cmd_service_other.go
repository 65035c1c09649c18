//go:build !windows

package main

import "errors"

// errServiceWindowsOnly is what `cardtill service` says off Windows.
var errServiceWindowsOnly = errors.New("'cardtill service' is for Windows only: on Linux the package installs systemd units, use 'systemctl enable --now cardtill-hub' (hub) or 'systemctl enable --now cardtill-till@tty1' (till)")

func serviceInstall(*globals) error   { return usageError(errServiceWindowsOnly) }
func serviceUninstall(*globals) error { return usageError(errServiceWindowsOnly) }
func serviceStart(*globals) error     { return usageError(errServiceWindowsOnly) }
func serviceStop(*globals) error      { return usageError(errServiceWindowsOnly) }
func serviceRun(*globals) error       { return usageError(errServiceWindowsOnly) }
