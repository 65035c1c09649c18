//go:build !windows

package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestServiceIsWindowsOnly(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{"install", "uninstall", "start", "stop", "run"} {
		t.Run(sub, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"service", sub}, strings.NewReader(""), &out, &errb)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(errb.String(), "Windows only") || !strings.Contains(errb.String(), "systemctl enable --now cardtill-hub") {
				t.Errorf("stderr = %q", errb.String())
			}
		})
	}
}
