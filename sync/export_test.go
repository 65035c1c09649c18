package sync

import "time"

// RunWait is Run's wait after a drain pass (runWait), for tests.
func RunWait(e *Engine, rep DrainReport, failed bool, failures int) time.Duration {
	return e.runWait(rep, failed, failures)
}
