package main

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/natefinch/lumberjack.v2"

	"cardtill/internal/config"
)

// globals is what every subcommand shares: the --config flag, standard
// streams, the loaded config and the log file. Nothing here is global state:
// one value is made per run.
type globals struct {
	configPath string
	stdin      io.Reader
	stdout     io.Writer
	stderr     io.Writer
	// getenv is os.Getenv unless a test sets it.
	getenv func(string) string

	cfg     *config.Config
	closers []func()
}

func (g *globals) env(key string) string {
	if g.getenv != nil {
		return g.getenv(key)
	}
	return os.Getenv(key)
}

// config loads the configuration once.
func (g *globals) config() (*config.Config, error) {
	if g.cfg != nil {
		return g.cfg, nil
	}
	path, _ := config.ResolvePath(g.configPath, g.env)
	cfg, err := config.Load(path, g.env)
	if err != nil {
		return nil, err
	}
	g.cfg = cfg
	return cfg, nil
}

// logger opens the rotated log file named by [log]. Logs never go to stdout:
// the till screen owns it. toStderr sends logs to stderr when no file is
// configured (services under systemd or the Windows service manager).
func (g *globals) logger(cfg *config.Config, toStderr bool) (*slog.Logger, error) {
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(strings.ToUpper(cfg.Log.Level))); err != nil {
		level.Set(slog.LevelInfo)
	}
	opts := &slog.HandlerOptions{Level: level}
	file := cfg.Log.File
	if file == "-" || (file == "" && toStderr) {
		return slog.New(slog.NewTextHandler(g.stderr, opts)), nil
	}
	if file == "" {
		file = filepath.Join(filepath.Dir(cfg.Store.Path), "cardtill.log")
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, &config.Error{Path: cfg.Path, Key: "log.file", Msg: "cannot create the log folder: " + err.Error() + ": fix its permissions or set log.file"}
	}
	lj := &lumberjack.Logger{
		Filename:   file,
		MaxSize:    cfg.Log.MaxSizeMB,
		MaxBackups: cfg.Log.MaxBackups,
		MaxAge:     cfg.Log.MaxAgeDays,
		Compress:   true,
	}
	g.closers = append(g.closers, func() { _ = lj.Close() })
	return slog.New(slog.NewJSONHandler(lj, opts)), nil
}

// onClose registers f to run when the command ends.
func (g *globals) onClose(f func()) { g.closers = append(g.closers, f) }

func (g *globals) close() {
	for i := len(g.closers) - 1; i >= 0; i-- {
		g.closers[i]()
	}
	g.closers = nil
}
