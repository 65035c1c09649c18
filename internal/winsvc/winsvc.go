// Package winsvc owns the Windows service that runs the hub: its name and
// recovery policy, installing, removing, starting and stopping it through
// the service manager, and running a function as the service (Run). The
// service manager exists on Windows only; elsewhere the package holds the
// names and policy, which the MSI's test compares with its own.
package winsvc

import "time"

// The service's names. On Linux the packages ship systemd units instead
// (cardtill-hub.service).
const (
	Name        = "cardtill-hub"
	DisplayName = "cardtill hub"
	Description = "cardtill HQ hub: WeChat card event push receiver, token service and code-status feed for the tills."
)

// Windows restarts the hub after a failure: 5 s, 30 s, then every 60 s;
// the count resets after a day without one. Install sets this, and so does
// the MSI (sc.exe failure in packaging/windows/cardtill.wxs, kept equal by
// cmd/cardtill's TestMSIServiceMatchesCode).
var RestartDelays = []time.Duration{5 * time.Second, 30 * time.Second, 60 * time.Second}

// RecoveryReset is how long without a failure resets the restart count.
const RecoveryReset = 24 * time.Hour
