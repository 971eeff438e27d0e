// Command trackerd is the mogfs tracker, a drop-in replacement for
// MogileFS's mogilefsd. It takes every mogilefsd.conf key as a --flag or as
// a "key = value" line in the file named by --config.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"mogfs/internal/config"
	"mogfs/trackerd"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "trackerd:", err)
		os.Exit(1)
	}
}

func run() error {
	set := config.New("trackerd", trackerd.Settings)
	if _, err := set.Parse(os.Args[1:]); err != nil {
		return err
	}
	level, err := trackerd.ParseLevel(set.String("log_level"))
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	cfg, err := trackerd.ConfigFromSet(set)
	if err != nil {
		return err
	}
	cfg.Logger = log
	for _, k := range []string{"daemonize", "user"} {
		if set.Bool(k) || (k == "user" && set.String(k) != "") {
			log.Warn("setting ignored; run trackerd under a supervisor as the intended user", "setting", k)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return trackerd.Run(ctx, cfg)
}
