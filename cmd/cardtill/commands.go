package main

import "github.com/spf13/cobra"

// subcommands lists every top-level command. Add one line per new
// cmd_<name>.go file.
var subcommands = []func(*globals) *cobra.Command{
	newVersionCmd,
	newConfigCmd,
	newHubCmd,
	newPortsCmd,
	newDoctorCmd,
	newServiceCmd,
	newDemoCmd,
	newDbCmd,
	newRunCmd,
	newRedeemCmd,
	newSyncCmd,
	newShiftCmd,
	newCodeCmd,
	newPinCmd,
}
