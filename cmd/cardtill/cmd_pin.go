package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"cardtill/pin"
)

func newPinCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pin",
		Short: "The manager's PIN for overriding the offline limit",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "hash",
		Short: "Hash a manager PIN for [offline] manager_pin_hash",
		Long: `Reads a PIN (4 to 12 digits) from the terminal without echo (twice), or one
line from standard input when it is not a terminal, and prints the line to
paste under [offline] in the config. The PIN itself is never printed or
kept; only its argon2id hash goes into the config.`,
		Args: exactArgs(0, "no arguments: the PIN is read from the terminal or standard input"),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := readPIN(g.stdin, g.stderr)
			if err != nil {
				return err
			}
			h, err := pin.Hash(p)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.stderr, "Paste this line under [offline] in the config (cardtill config path shows which file):")
			fmt.Fprintf(g.stdout, "manager_pin_hash = %q\n", h)
			return nil
		},
	})
	return cmd
}

// readPIN reads the PIN without echo from a terminal (asked twice), else
// one line of in. Errors never contain what was typed.
func readPIN(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(q string) (string, error) {
			fmt.Fprint(prompt, q)
			b, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(prompt)
			if err != nil {
				return "", fmt.Errorf("cannot read the PIN from the terminal: %w", err)
			}
			return strings.TrimSpace(string(b)), nil
		}
		a, err := ask("Manager PIN (4 to 12 digits, not shown): ")
		if err != nil {
			return "", err
		}
		if err := pin.ValidPIN(a); err != nil {
			return "", fmt.Errorf("not hashed: %w", err)
		}
		b, err := ask("The same PIN again: ")
		if err != nil {
			return "", err
		}
		if a != b {
			return "", errors.New("not hashed: the two PINs differ")
		}
		return a, nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", errors.New("no PIN on standard input: type it at a terminal, or pipe one line (e.g. from a password manager)")
	}
	p := strings.TrimSpace(line)
	if err := pin.ValidPIN(p); err != nil {
		return "", fmt.Errorf("not hashed: %w", err)
	}
	return p, nil
}
