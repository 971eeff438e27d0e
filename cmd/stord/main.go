// Command stord is the mogfs storage node, a drop-in replacement for
// MogileFS's mogstored. It takes mogstored's options, as flags or as
// "key = value" lines in the file named by --config.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"mogfs/internal/config"
	"mogfs/stord"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "stord:", err)
		os.Exit(1)
	}
}

func run() error {
	set := config.New("stord", stord.Settings)
	if _, err := set.Parse(os.Args[1:]); err != nil {
		return err
	}
	log, err := newLogger(set.String("log_format"), set.String("log_level"))
	if err != nil {
		return err
	}
	cfg, err := stord.ConfigFromSet(set)
	if err != nil {
		return err
	}
	cfg.Logger = log
	if set.Bool("daemonize") {
		log.Warn("daemonize is not supported; running in the foreground")
	}
	if s := set.String("server"); s != "perlbal" && s != "none" {
		log.Warn("only the built-in HTTP server is available", "server", s)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return stord.Run(ctx, cfg)
}

func newLogger(format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log_level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("log_format %q: want text or json", format)
}
