package main

import (
	"fmt"

	"github.com/pelletier/go-toml/v2"
	"github.com/spf13/cobra"

	"cardtill/internal/config"
)

func newConfigCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Show the effective configuration or print a commented sample",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration (file + environment), secrets redacted",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := g.config()
			if err != nil {
				return err
			}
			out, err := toml.Marshal(cfg.Redacted())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "# effective configuration from %s (secrets redacted)\n%s", cfg.Path, out)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "example",
		Short: "Print a commented sample configuration",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprint(g.stdout, config.Example)
			return err
		},
	})
	return cmd
}
