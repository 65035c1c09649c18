package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"cardtill/hub"
)

// `cardtill hub admin add|remove|list`: the dashboard's accounts. The name
// is the issue's; the hub's admin *socket* (hub/admin.go) has no command of
// its own, so nothing clashes.

// hubAccounts is what the account commands need: the hub's store when the
// hub is stopped (or on PostgreSQL), or the running hub's admin socket.
type hubAccounts interface {
	Accounts() ([]hub.Account, error)
	AddAccount(name, hash string) error
	RemoveAccount(name string) error
}

func openHubAccounts(ctx context.Context, g *globals, readOnly bool) (hubAccounts, error) {
	a, err := openHubAdmin(ctx, g, readOnly)
	if err != nil {
		return nil, err
	}
	acc, ok := a.(hubAccounts)
	if !ok {
		return nil, errors.New("this hub's store keeps no dashboard accounts")
	}
	return acc, nil
}

func newHubAccountCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Manage the accounts that may log in to the hub's web dashboard (/admin/)",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "add NAME",
		Short: "Add a dashboard account; its password is read without echo (twice) or from standard input",
		Long: `Reads the password (10 to 256 characters) from the terminal without echo,
twice, or one line from standard input when it is not a terminal. Only its
argon2id hash is kept in the hub's store; the password is never printed,
logged or sent anywhere (a running hub gets the hash over its admin socket).`,
		Args: exactArgs(1, "the account's NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := hub.ValidAccountName(args[0]); err != nil {
				return usageError(err)
			}
			p, err := readPassword(g.stdin, g.stderr)
			if err != nil {
				return usageError(err)
			}
			h, err := hub.PasswordHash(p, hub.DefaultPasswordParams)
			if err != nil {
				return usageError(err)
			}
			st, err := openHubAccounts(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			if err := st.AddAccount(args[0], h); err != nil {
				if errors.Is(err, hub.ErrAccountExists) {
					return withExit(exitFailure, fmt.Errorf("%w (cardtill hub admin remove %s, then add it again, sets a new password)", err, args[0]))
				}
				return usageError(err)
			}
			fmt.Fprintf(g.stdout, "dashboard account %q added: log in at https://YOUR-HUB/admin/\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a dashboard account; its sessions end at once",
		Args:  exactArgs(1, "the account's NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openHubAccounts(cmd.Context(), g, false)
			if err != nil {
				return err
			}
			if err := st.RemoveAccount(args[0]); err != nil {
				if errors.Is(err, hub.ErrNoAccount) {
					return withExit(exitFailure, fmt.Errorf("%w: 'cardtill hub admin list' shows the names", err))
				}
				return err
			}
			fmt.Fprintf(g.stdout, "dashboard account %q removed: its sessions are ended\n", args[0])
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "List the dashboard accounts (never their passwords)",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openHubAccounts(cmd.Context(), g, true)
			if err != nil {
				return err
			}
			as, err := st.Accounts()
			if err != nil {
				return err
			}
			if len(as) == 0 {
				fmt.Fprintln(g.stdout, "no dashboard accounts: add one with 'cardtill hub admin add NAME'")
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tADDED")
			for _, a := range as {
				fmt.Fprintf(tw, "%s\t%s\n", a.Name, a.Created.Local().Format("2006-01-02 15:04:05"))
			}
			return tw.Flush()
		},
	})
	return cmd
}

// readPassword reads a new password without echo from a terminal (asked
// twice), else one line of in. Errors never contain what was typed.
func readPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(q string) (string, error) {
			fmt.Fprint(prompt, q)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(prompt)
			if err != nil {
				return "", fmt.Errorf("cannot read the password from the terminal: %w", err)
			}
			return string(b), nil
		}
		a, err := ask(fmt.Sprintf("Password (%d to %d characters, not shown): ", hub.MinPassword, hub.MaxPassword))
		if err != nil {
			return "", err
		}
		if err := hub.ValidPassword(a); err != nil {
			return "", fmt.Errorf("not added: %w", err)
		}
		b, err := ask("The same password again: ")
		if err != nil {
			return "", err
		}
		if a != b {
			return "", errors.New("not added: the two passwords differ")
		}
		return a, nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", errors.New("no password on standard input: type it at a terminal, or pipe one line (e.g. from a password manager)")
	}
	p := strings.TrimRight(line, "\r\n")
	if err := hub.ValidPassword(p); err != nil {
		return "", fmt.Errorf("not added: %w", err)
	}
	return p, nil
}
