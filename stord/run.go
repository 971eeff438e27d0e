package stord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mogfs/metrics"
)

// Run serves the storage node until ctx is cancelled: the HTTP data port
// (unless cfg.NoHTTP), the management side channel and the usage writer.
// On cancellation it stops accepting, lets in-flight requests finish for up
// to cfg.ShutdownTimeout, then closes the remaining connections and waits
// for their handlers, so an interrupted upload has removed its temp file
// before Run returns. It returns nil after a clean shutdown.
func Run(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	log := cfg.Logger.With("component", "stord")

	fi, err := os.Stat(cfg.DocRoot)
	if err != nil {
		return fmt.Errorf("stord: docroot: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("stord: docroot %s is not a directory", cfg.DocRoot)
	}

	var httpL net.Listener
	if !cfg.NoHTTP {
		httpL, err = net.Listen("tcp", cfg.HTTPListen)
		if err != nil {
			return fmt.Errorf("stord: http listen: %w", err)
		}
		defer httpL.Close()
		if cfg.MaxConns > 0 {
			httpL = newLimitListener(httpL, cfg.MaxConns)
		}
	}
	mgmtL, err := net.Listen("tcp", cfg.MgmtListen)
	if err != nil {
		return fmt.Errorf("stord: mgmt listen: %w", err)
	}
	defer mgmtL.Close()

	// The metrics endpoint (a mogfs extension) is opened with the other
	// listeners so a bad address fails start-up before anything runs.
	var metricsL net.Listener
	var reg *prometheus.Registry
	var stordMetrics *metrics.Stord
	if cfg.MetricsListen != "" {
		metricsL, err = metrics.Listen(cfg.MetricsListen)
		if err != nil {
			return fmt.Errorf("stord: metrics listen: %w", err)
		}
		defer metricsL.Close()
		reg = metrics.NewRegistry()
		stordMetrics = metrics.NewStord(reg)
	}

	if cfg.PIDFile != "" {
		if err := os.WriteFile(cfg.PIDFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("stord: pidfile: %w", err)
		}
		defer os.Remove(cfg.PIDFile)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { runUsage(ctx, cfg.DocRoot, cfg.UsageInterval, log) })

	var hub *watchHub
	if !cfg.NoIOStat {
		hub = newWatchHub()
		wg.Go(func() { hub.run(ctx, cfg.DocRoot, cfg.WatchInterval) })
	}
	mgmt := newMgmtServer(cfg.DocRoot, hub, log)
	wg.Go(func() { mgmt.serve(ctx, mgmtL) })

	attrs := []any{"docroot", cfg.DocRoot, "mgmt", mgmtL.Addr().String()}
	if metricsL != nil {
		attrs = append(attrs, "metrics", metricsL.Addr().String())
		wg.Go(func() {
			if err := metrics.ServeListener(ctx, metricsL, reg, nil, cfg.Logger); err != nil {
				log.Error("metrics endpoint failed", "err", err)
			}
		})
	}
	var serveErr error
	if httpL != nil {
		attrs = append(attrs, "http", httpL.Addr().String())
		h := NewHandler(cfg.DocRoot, log)
		h.SetMetrics(stordMetrics)
		h.RequireSignatures(cfg.StorageSecret, cfg.SignReads)
		if len(cfg.StorageSecret) > 0 {
			attrs = append(attrs, "signed_urls", true, "sign_reads", cfg.SignReads)
		}
		srv := &http.Server{
			Handler: h,
			// No ReadTimeout: uploads of many GiB are legitimate. Header
			// and idle timeouts stop slowloris and dead keep-alives.
			ReadHeaderTimeout: 30 * time.Second,
			IdleTimeout:       5 * time.Minute,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		}
		errc := make(chan error, 1)
		go func() { errc <- srv.Serve(httpL) }()
		log.Info("stord started", attrs...)
		select {
		case <-ctx.Done():
		case serveErr = <-errc:
			serveErr = fmt.Errorf("stord: http serve: %w", serveErr)
			cancel()
		}
		sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		if err := srv.Shutdown(sctx); err != nil {
			log.Warn("shutdown timed out; closing connections", "err", err)
			srv.Close()
		}
		scancel()
		h.Wait()
	} else {
		log.Info("stord started", attrs...)
		<-ctx.Done()
	}
	cancel()
	wg.Wait()
	log.Info("stord stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// limitListener caps simultaneous connections (mogstored's maxconns):
// Accept waits while the cap is reached.
type limitListener struct {
	net.Listener
	sem chan struct{}
}

func newLimitListener(l net.Listener, n int) net.Listener {
	return &limitListener{Listener: l, sem: make(chan struct{}, n)}
}

// Accept implements net.Listener.
func (l *limitListener) Accept() (net.Conn, error) {
	l.sem <- struct{}{}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.sem })}, nil
}

type limitConn struct {
	net.Conn
	release func()
}

// net/http's sendfile path needs the connection to be an io.ReaderFrom.
var _ io.ReaderFrom = (*limitConn)(nil)

// ReadFrom hands a response body to the TCP connection's own ReadFrom:
// net/http sends a file with sendfile only when the connection it holds is
// an io.ReaderFrom, and without this the wrapper made every GET copy the
// file through user space twice (measured: stord's CPU during a cold
// sequential read through the mount was mostly those copies).
func (c *limitConn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// Close implements net.Conn and frees the connection's slot once.
func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
