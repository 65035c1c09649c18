package sync

import (
	"context"
	"time"
)

// RunWait is Run's wait after a drain pass (runWait), for tests.
func RunWait(e *Engine, rep DrainReport, failed bool, failures int) time.Duration {
	return e.runWait(rep, failed, failures)
}

// Probe is Run's probe of WeChat while offline (probe), for tests.
func Probe(e *Engine, ctx context.Context) bool { return e.probe(ctx) }

// SetSubBuffer sets how many redemptions a subscription holds for a slow
// reader, for tests; it returns the old value.
func SetSubBuffer(n int) int { old := subBuffer; subBuffer = n; return old }
