package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// shutdownTimeout bounds how long Serve waits for in-flight scrapes after
// its context ends.
const shutdownTimeout = 5 * time.Second

// NewRegistry returns a registry holding the Go runtime and process
// collectors, which every daemon wants next to its own families.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// Handler returns the mux Serve runs: /metrics from reg, then each extra
// pattern (ServeMux syntax, e.g. "/" or "/status") with its handler. A nil
// reg serves an empty registry.
func Handler(reg *prometheus.Registry, extra map[string]http.Handler, log *slog.Logger) http.Handler {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		// A collector that fails must not hide the others: serve what
		// gathered and log the rest.
		ErrorHandling: promhttp.ContinueOnError,
		Registry:      reg, // adds promhttp_metric_handler_errors_total
	}))
	for pattern, h := range extra {
		mux.Handle(pattern, h)
	}
	return mux
}

// Serve listens on addr and serves Handler(reg, extra) until ctx ends, then
// shuts down gracefully (in-flight scrapes get a few seconds). It returns nil
// after a clean shutdown and an error when it cannot listen or serving fails.
// An empty addr is an error: callers check their "off" setting first.
func Serve(ctx context.Context, addr string, reg *prometheus.Registry, extra map[string]http.Handler, log *slog.Logger) error {
	if addr == "" {
		return ErrNoAddress
	}
	l, err := Listen(addr)
	if err != nil {
		return err
	}
	return ServeListener(ctx, l, reg, extra, log)
}

// Listen opens the listener of a metrics address. An address without a
// host (":9100") is loopback's, 127.0.0.1:9100: metrics and status pages
// show the cluster's layout and are never on every interface by accident;
// name 0.0.0.0 to mean that.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	if host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen %s: %w", addr, err)
	}
	return l, nil
}

// ServeListener is Serve on a listener the caller opened, so that a test can
// listen on 127.0.0.1:0 and learn the port first. It closes l.
func ServeListener(ctx context.Context, l net.Listener, reg *prometheus.Registry, extra map[string]http.Handler, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "metrics")
	srv := &http.Server{
		Handler:           Handler(reg, extra, log),
		ReadHeaderTimeout: 10 * time.Second,
		// Scrapes and status pages are small; a slow reader must not
		// hold a goroutine forever.
		WriteTimeout: 30 * time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	log.Info("metrics listening", "addr", l.Addr().String())
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("metrics: serve: %w", serveErr)
	}
	return nil
}
