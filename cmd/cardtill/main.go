// Command cardtill is the till agent for WeChat cards and coupons, and (as
// `cardtill hub`) its HQ-side token and event-push service.
//
// main stays thin: it builds the command tree, and maps every error to an
// exit code in one place (exitCode). Each subcommand lives in its own
// cmd_<name>.go file and is registered in commands.go.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"cardtill/internal/advice"
	"cardtill/internal/config"
	"cardtill/internal/console"
)

// Exit codes. `cardtill redeem` relies on 0/1/2 as an outside contract.
const (
	exitOK      = 0 // success; for redeem: the coupon is honoured
	exitFailure = 1 // the command ran and the answer is "no" (refused, unfit, ...)
	exitUsage   = 2 // usage, configuration or database error
)

// exitError carries an exit code chosen by a subcommand. A nil err means the
// command already said what it had to say.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withExit wraps err so that main exits with code.
func withExit(code int, err error) error { return &exitError{code: code, err: err} }

// usageError marks an error as a usage/config/database problem (exit 2).
func usageError(err error) error { return withExit(exitUsage, err) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	stdout, stderr, restoreConsole := console.Setup(os.Stdout, os.Stderr, os.Getenv) // internal/console
	code := run(ctx, os.Args[1:], os.Stdin, stdout, stderr)
	restoreConsole()
	stop()
	os.Exit(code)
}

// run executes the command line and returns the process exit code. Tests
// call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	defer g.close()
	root := newRootCmd(g)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return exitCode(err, stderr)
}

// exitCode prints err (once), with the advice that names the config keys
// and commands (internal/advice), and maps it to an exit code.
func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintf(stderr, "cardtill: %s\n", advice.Text(ee.err))
		}
		return ee.code
	}
	var ce *config.Error
	if errors.As(err, &ce) {
		fmt.Fprintf(stderr, "cardtill: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "cardtill: %s\n", advice.Text(err))
	return exitFailure
}

func newRootCmd(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "cardtill",
		Short: "Till agent for WeChat cards and coupons",
		Long: `cardtill checks and writes off WeChat coupon and member-card codes at a
store till, keeps working offline from a local journal, and syncs later.

Try it with no setup:  cardtill demo
Configuration:         ` + config.DefaultPath() + ` (or --config FILE); a commented
                       sample with every key: cardtill config example`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// The root runs itself so that a word that is no command is a
		// usage error of ours (exit 2), not cobra's text to match.
		Args:                       cobra.ArbitraryArgs,
		SuggestionsMinimumDistance: 2,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
			if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
			}
			return usageError(fmt.Errorf("%s\nsee 'cardtill --help'", msg))
		},
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", "",
		"config file (default $CARDTILL_CONFIG, else "+config.DefaultPath()+")")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError(fmt.Errorf("%w\nsee 'cardtill %s --help'", err, c.Name()))
	})
	for _, mk := range subcommands {
		root.AddCommand(mk(g))
	}
	return root
}

// exactArgs is cobra.ExactArgs with an error that maps to exit code 2.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError(fmt.Errorf("%s: expected %s; see 'cardtill %s --help'", cmd.CommandPath(), what, cmd.Name()))
		}
		return nil
	}
}
