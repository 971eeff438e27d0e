package stord

import (
	"fmt"
	"log/slog"
	"time"

	"mogfs/internal/config"
	"mogfs/nodeproto"
)

// Settings is stord's settings table: the mogstored.conf keys (which are
// also mogstored's long options) plus the logging knobs of every mogfs
// daemon. cmd/stord builds its flags and config-file parser from it and the
// README generator documents it.
var Settings = []config.Setting{
	{Name: "httplisten", Default: "0.0.0.0:7500", Help: "address of the HTTP data port (GET/HEAD/PUT/DELETE/MKCOL)"},
	{Name: "mgmtlisten", Default: "0.0.0.0:7501", Help: "address of the management side channel (size, MD5, SHA-1, watch)"},
	{Name: "docroot", Default: "/var/mogdata", Help: "directory holding the devN device directories"},
	{Name: "maxconns", Default: "10000", Help: "maximum simultaneous HTTP connections (0 = unlimited)"},
	{Name: "server", Default: "perlbal", Help: "HTTP engine; \"none\" runs only the side channel and usage writer, anything else uses the built-in server"},
	{Name: "serverbin", Default: "", Help: "accepted for mogstored.conf compatibility; ignored"},
	{Name: "pidfile", Default: "", Help: "write the process id to this file while running"},
	{Name: "iostat", Default: "1", Help: "serve device utilisation to \"watch\" on the side channel (0 answers \"ERR iostat unavailable\")"},
	{Name: "daemonize", Default: "0", Help: "accepted for mogstored.conf compatibility; stord always runs in the foreground"},
	{Name: "metrics_listen", Default: "", Help: "mogfs extension: ip:port serving Prometheus metrics at /metrics (empty: off; :port alone is 127.0.0.1:port)"},
	{Name: "storage_secret", Default: "", Help: "mogfs extension: secret shared with the trackers (at least 16 bytes); when set, PUT, DELETE, MKCOL and MOVE need a URL signed by a tracker, else 403. Empty: off. Prefer storage_secret_file"},
	{Name: "storage_secret_file", Default: "", Help: "mogfs extension: file holding storage_secret (surrounding white space ignored), so the secret is not on the command line"},
	{Name: "sign_reads", Default: "0", Help: "mogfs extension: with storage_secret, GET and HEAD need a signed URL too (except GET / and /devN/usage)"},
	{Name: "log_format", Default: "text", Help: "log format on stderr: text or json"},
	{Name: "log_level", Default: "info", Help: "minimum log level: debug, info, warn or error"},
}

// Config is what Run needs. The zero value of each optional field selects
// the documented default.
type Config struct {
	HTTPListen string // HTTP data port address, e.g. "0.0.0.0:7500"
	MgmtListen string // side-channel address, e.g. "0.0.0.0:7501"
	DocRoot    string // directory holding devN directories
	MaxConns   int    // cap on simultaneous HTTP connections; 0 = unlimited
	NoHTTP     bool   // server=none: run only the side channel and usage writer
	PIDFile    string // written at start, removed at exit; "" = none
	NoIOStat   bool   // iostat=0: "watch" answers "ERR iostat unavailable"
	// MetricsListen is the address of the Prometheus endpoint (mogfs
	// extension, metrics_listen); "" turns it off.
	MetricsListen string
	// StorageSecret, when not empty, is the secret shared with the
	// trackers: requests that change files need a URL the trackers signed
	// with it (nodeproto's signed URLs). SignReads requires signed reads
	// as well.
	StorageSecret []byte
	SignReads     bool

	// UsageInterval is how often devN/usage files are rewritten (default
	// 10s, as mogstored's DiskUsage child).
	UsageInterval time.Duration
	// WatchInterval is how often a "watch" subscriber gets a utilisation
	// block (default 1s, as iostat's interval).
	WatchInterval time.Duration
	// ShutdownTimeout bounds how long in-flight requests may run after ctx
	// is cancelled before connections are closed (default 10s).
	ShutdownTimeout time.Duration

	Logger *slog.Logger // default discards
}

func (c Config) withDefaults() Config {
	if c.UsageInterval <= 0 {
		c.UsageInterval = 10 * time.Second
	}
	if c.WatchInterval <= 0 {
		c.WatchInterval = time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// ConfigFromSet builds a Config from a parsed Settings table. The Logger is
// left nil for the caller to fill in.
func ConfigFromSet(s *config.Set) (Config, error) {
	maxConns, err := s.Int("maxconns")
	if err != nil {
		return Config{}, fmt.Errorf("stord: %w", err)
	}
	if maxConns < 0 {
		return Config{}, fmt.Errorf("stord: maxconns %d is negative", maxConns)
	}
	cfg := Config{
		HTTPListen: s.String("httplisten"),
		MgmtListen: s.String("mgmtlisten"),
		DocRoot:    s.String("docroot"),
		MaxConns:   maxConns,
		NoHTTP:     s.String("server") == "none",
		PIDFile:    s.String("pidfile"),
		NoIOStat:   !s.Bool("iostat"),

		MetricsListen: s.String("metrics_listen"),
		SignReads:     s.Bool("sign_reads"),
	}
	if cfg.DocRoot == "" {
		return Config{}, fmt.Errorf("stord: docroot is empty")
	}
	if cfg.StorageSecret, err = s.Secret("storage_secret", "storage_secret_file"); err != nil {
		return Config{}, fmt.Errorf("stord: %w", err)
	}
	if err := nodeproto.CheckSecret(cfg.StorageSecret); err != nil {
		return Config{}, fmt.Errorf("stord: storage_secret: %w", err)
	}
	if cfg.SignReads && len(cfg.StorageSecret) == 0 {
		return Config{}, fmt.Errorf("stord: sign_reads needs storage_secret")
	}
	return cfg, nil
}
