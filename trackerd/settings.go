package trackerd

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"mogfs/internal/config"
	"mogfs/nodeproto"
	"mogfs/trackerd/zones"
)

// Settings is trackerd's settings table: every mogilefsd.conf key (as a
// --flag and a config-file key) plus mogfs's own additions. cmd/trackerd
// builds its flags and config parser from it.
var Settings = []config.Setting{
	{Name: "listen", Default: "0.0.0.0:7001", Help: "comma-separated ip[:port] list to serve the tracker protocol on (port defaults to conf_port)"},
	{Name: "conf_port", Default: "7001", Help: "port used for listen entries without one"},
	{Name: "db_dsn", Default: "DBI:SQLite:dbname=/var/lib/mogilefs/mogilefs.db", Help: "metadata database (DBI:SQLite:dbname=FILE or DBI:mysql:DB;host=H;port=P)"},
	{Name: "db_user", Default: "", Help: "database user"},
	{Name: "db_pass", Default: "", Help: "database password"},
	{Name: "min_free_space", Default: "100", Help: "MB a device must keep free to receive new files"},
	{Name: "node_timeout", Default: "2", Help: "seconds to wait for a storage node's HTTP answer"},
	{Name: "conn_timeout", Default: "2", Help: "seconds to wait for a connection to a storage node"},
	{Name: "default_mindevcount", Default: "2", Help: "mindevcount of the implicit default class"},
	{Name: "mogstored_stream_port", Default: "7501", Help: "storage nodes' management (side-channel) port"},
	{Name: "query_jobs", Default: "20", Help: "accepted for compatibility; queries run one goroutine per connection"},
	{Name: "replicate_jobs", Default: "1", Help: "concurrent replication workers"},
	{Name: "delete_jobs", Default: "1", Help: "concurrent delete workers"},
	{Name: "fsck_jobs", Default: "1", Help: "concurrent fsck workers"},
	{Name: "reaper_jobs", Default: "1", Help: "reaper workers (0 disables the reaper)"},
	{Name: "monitor_jobs", Default: "1", Help: "accepted for compatibility; there is one monitor"},
	{Name: "job_master", Default: "1", Help: "claim queued work from the database (0: this tracker only answers queries)"},
	{Name: "daemonize", Default: "0", Help: "accepted for compatibility; run under a supervisor instead"},
	{Name: "pidfile", Default: "", Help: "write the process id to this file"},
	{Name: "user", Default: "", Help: "accepted for compatibility; start as the intended user instead"},
	{Name: "repl_use_get_port", Default: "0", Help: "replication reads use the hosts' http_get_port"},
	{Name: "rebalance_ignore_missing", Default: "0", Help: "rebalance treats a 404 on the source as deleted"},
	{Name: "local_network", Default: "", Help: "this tracker's address or network (e.g. 10.5.0.0/16); when it lies in a network zone (network_zones server setting), replication tries devices in that zone first, as with the ZoneLocal plugin"},
	{Name: "no_schema_check", Default: "0", Help: "accepted for compatibility; the schema is created or upgraded at start"},
	{Name: "monitor_interval", Default: "2.5", Help: "mogfs: seconds between monitor rounds"},
	{Name: "write_test_interval", Default: "15", Help: "mogfs: seconds between a device's write tests"},
	{Name: "metrics_listen", Default: "", Help: "mogfs: ip:port for Prometheus metrics and the status page (empty: off; :port alone is 127.0.0.1:port)"},
	{Name: "log_level", Default: "info", Help: "mogfs: debug, info, warn or error"},
	{Name: "queue_lease", Default: "60", Help: "mogfs: seconds a claimed queue row stays invisible to other trackers; renewed every third of it while the row is worked on, so a crashed tracker's work comes due elsewhere after at most this long (the original: 1000, never renewed)"},
	{Name: "get_paths_cache_ttl", Default: "2", Help: "mogfs: seconds get_paths may reuse a key's fid and devices (0: off); like the original's memcache_ttl, other trackers' changes show up after at most this long"},
	{Name: "mogfs_extensions", Default: "1", Help: "mogfs: serve the extension commands (mogfs_*, stats) and create_close's attr_* args; 0 answers like a stock MogileFS 2.73 tracker (unknown_command, attr_* ignored), to test clients' fallbacks"},
	{Name: "admin_allow", Default: "", Help: "mogfs: client networks (CIDRs, comma-separated) allowed to send the commands that change files, the namespace's attributes or the cluster (create_open, delete, create_host, set_server_setting, fsck_start, !shutdown, ...); others get ERR unauthorized and may still read. Empty: every client, as the original trusts its network"},
	{Name: "storage_secret", Default: "", Help: "mogfs: secret shared with the storage nodes (at least 16 bytes); when set, the URLs create_open, get_paths, edit_file and file_debug return, and every request the tracker makes of a node, carry an expiring signature (a sig= query parameter) that stord checks. Empty: off. Prefer storage_secret_file"},
	{Name: "storage_secret_file", Default: "", Help: "mogfs: file holding storage_secret (surrounding white space ignored), so the secret is not on the command line"},
	{Name: "storage_url_ttl", Default: "3600", Help: "mogfs: seconds a signed storage URL stays valid; a request must reach the node within it (an upload may then take longer)"},
	{Name: "sqlite_synchronous", Default: "FULL", Help: "mogfs: SQLite synchronous pragma, FULL (an OK'd write survives power loss) or NORMAL (faster; the last commits may roll back on power loss)"},
}

// Config is what Start needs. Zero values take the defaults of Settings.
type Config struct {
	Listen                 []string // ip:port addresses; "127.0.0.1:0" picks a free port
	DSN                    string
	DBUser, DBPass         string
	MinFreeMB              int64
	NodeTimeout            time.Duration
	ConnTimeout            time.Duration
	DefaultMinDevCount     int
	StreamPort             int
	ReplicateJobs          int
	DeleteJobs             int
	FsckJobs               int
	ReaperJobs             int
	JobMaster              bool
	PIDFile                string
	ReplUseGetPort         bool
	RebalanceIgnoreMissing bool
	MonitorInterval        time.Duration
	WriteTestInterval      time.Duration
	MetricsListen          string
	// QueueLease is how long a claimed queue row stays invisible to other
	// trackers unless its worker renews it; default 60 s (the original
	// leases for 1000 s and never renews).
	QueueLease time.Duration
	// GetPathsCacheTTL is how long get_paths reuses a key's lookup; 0
	// takes the default 2 s, negative turns the cache off.
	GetPathsCacheTTL time.Duration
	// LocalNetwork is local_network: replication tries devices in its
	// network zone first. The zero Prefix means none.
	LocalNetwork netip.Prefix
	// SQLiteSynchronous is the SQLite synchronous pragma ("FULL" default,
	// or "NORMAL"); ignored on MySQL.
	SQLiteSynchronous string
	// NoExtensions makes the tracker look like a stock MogileFS 2.73
	// tracker on the wire (--mogfs_extensions=0): the mogfs_* commands and
	// stats answer unknown_command and create_close ignores attr_*
	// arguments. It exists to test clients' fallbacks; the zero value
	// serves the extensions.
	NoExtensions bool
	// AdminAllow, when not empty, is every network allowed to send the
	// mutating and admin commands (see mutating); a client elsewhere gets
	// "ERR unauthorized" for them and may still read. Empty allows all,
	// as MogileFS, which trusts its network.
	AdminAllow []netip.Prefix
	// StorageSecret, when not empty, turns on signed storage URLs: the
	// URLs handed to clients and the tracker's own requests to nodes are
	// signed with it (nodeproto.Signer), each lasting StorageURLTTL
	// (default 1 h).
	StorageSecret []byte
	StorageURLTTL time.Duration
	// CacheRefresh is how often domains, classes and server settings are
	// reloaded from the database (changes by other trackers); default 2 s.
	CacheRefresh time.Duration
	// Hostname identifies this tracker in fsck_host/rebal_host; default
	// os.Hostname.
	Hostname string
	// HTTPClient talks to the storage nodes; default one with the node and
	// connection timeouts.
	HTTPClient *http.Client
	Logger     *slog.Logger
}

// LogValue keeps the database password out of logs.
func (c Config) LogValue() slog.Value {
	pass := ""
	if c.DBPass != "" {
		pass = "REDACTED"
	}
	return slog.GroupValue(
		slog.Any("listen", c.Listen), slog.String("db_dsn", c.DSN), slog.String("db_user", c.DBUser),
		slog.String("db_pass", pass), slog.Int64("min_free_space", c.MinFreeMB),
		slog.Bool("job_master", c.JobMaster), slog.Duration("monitor_interval", c.MonitorInterval),
		slog.Bool("mogfs_extensions", !c.NoExtensions), slog.Any("admin_allow", c.AdminAllow),
		slog.Bool("signed_urls", len(c.StorageSecret) > 0))
}

func (c Config) withDefaults() Config {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DSN == "" {
		c.DSN = "DBI:SQLite:dbname=/var/lib/mogilefs/mogilefs.db"
	}
	if c.MinFreeMB == 0 {
		c.MinFreeMB = 100
	}
	if c.NodeTimeout == 0 {
		c.NodeTimeout = 2 * time.Second
	}
	if c.ConnTimeout == 0 {
		c.ConnTimeout = 2 * time.Second
	}
	if c.DefaultMinDevCount == 0 {
		c.DefaultMinDevCount = 2
	}
	if c.StreamPort == 0 {
		c.StreamPort = 7501
	}
	if c.MonitorInterval == 0 {
		c.MonitorInterval = 2500 * time.Millisecond
	}
	if c.WriteTestInterval == 0 {
		c.WriteTestInterval = 15 * time.Second
	}
	for _, n := range []*int{&c.ReplicateJobs, &c.DeleteJobs, &c.FsckJobs, &c.ReaperJobs} {
		if *n == 0 {
			*n = 1
		}
	}
	if c.QueueLease <= 0 {
		c.QueueLease = 60 * time.Second
	}
	if c.GetPathsCacheTTL == 0 {
		c.GetPathsCacheTTL = 2 * time.Second
	}
	if c.CacheRefresh == 0 {
		c.CacheRefresh = 2 * time.Second
	}
	if c.StorageURLTTL <= 0 {
		c.StorageURLTTL = time.Hour
	}
	if c.Hostname == "" {
		c.Hostname, _ = os.Hostname()
	}
	if c.HTTPClient == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: c.ConnTimeout, KeepAlive: 30 * time.Second}).DialContext
		tr.MaxIdleConnsPerHost = 64
		tr.ResponseHeaderTimeout = c.NodeTimeout
		tr.Proxy = nil
		c.HTTPClient = &http.Client{Transport: tr}
	}
	return c
}

// ConfigFromSet builds a Config from parsed settings (cmd/trackerd). The
// logger is left for the caller to set.
func ConfigFromSet(s *config.Set) (Config, error) {
	var c Config
	port := strings.TrimSpace(s.String("conf_port"))
	if port == "" {
		port = "7001"
	}
	for _, a := range strings.Split(s.String("listen"), ",") {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, port)
		}
		c.Listen = append(c.Listen, a)
	}
	c.DSN, c.DBUser, c.DBPass = s.String("db_dsn"), s.String("db_user"), s.String("db_pass")
	var errs []error
	geti := func(name string) int {
		n, err := s.Int(name)
		if err != nil {
			errs = append(errs, err)
		}
		return n
	}
	getd := func(name string) time.Duration {
		d, err := s.Seconds(name)
		if err != nil {
			errs = append(errs, err)
		}
		return d
	}
	c.MinFreeMB = int64(geti("min_free_space"))
	c.NodeTimeout = getd("node_timeout")
	c.ConnTimeout = getd("conn_timeout")
	c.DefaultMinDevCount = geti("default_mindevcount")
	c.StreamPort = geti("mogstored_stream_port")
	c.ReplicateJobs = geti("replicate_jobs")
	c.DeleteJobs = geti("delete_jobs")
	c.FsckJobs = geti("fsck_jobs")
	c.ReaperJobs = geti("reaper_jobs")
	c.JobMaster = s.Bool("job_master")
	c.PIDFile = s.String("pidfile")
	c.ReplUseGetPort = s.Bool("repl_use_get_port")
	c.RebalanceIgnoreMissing = s.Bool("rebalance_ignore_missing")
	c.MonitorInterval = getd("monitor_interval")
	c.WriteTestInterval = getd("write_test_interval")
	c.MetricsListen = s.String("metrics_listen")
	c.NoExtensions = !s.Bool("mogfs_extensions")
	allow, err := zones.ParseNets(s.String("admin_allow"))
	if err != nil {
		errs = append(errs, fmt.Errorf("admin_allow: %w (want CIDRs such as 10.0.0.0/8)", err))
	}
	c.AdminAllow = allow
	if ln := strings.TrimSpace(s.String("local_network")); ln != "" {
		pfxs, err := zones.ParseNets(ln)
		if err != nil || len(pfxs) != 1 {
			errs = append(errs, fmt.Errorf("local_network %q: want one address or CIDR such as 10.5.0.0/16", ln))
		} else {
			c.LocalNetwork = pfxs[0]
		}
	}
	c.QueueLease = getd("queue_lease")
	if c.GetPathsCacheTTL = getd("get_paths_cache_ttl"); c.GetPathsCacheTTL == 0 {
		c.GetPathsCacheTTL = -1 // an explicit 0 means off
	}
	c.SQLiteSynchronous = strings.ToUpper(strings.TrimSpace(s.String("sqlite_synchronous")))
	if c.SQLiteSynchronous != "FULL" && c.SQLiteSynchronous != "NORMAL" {
		errs = append(errs, fmt.Errorf("sqlite_synchronous %q: want FULL or NORMAL", c.SQLiteSynchronous))
	}
	secret, err := s.Secret("storage_secret", "storage_secret_file")
	if err == nil {
		err = nodeproto.CheckSecret(secret)
	}
	if err != nil {
		errs = append(errs, fmt.Errorf("storage_secret: %w", err))
	}
	c.StorageSecret = secret
	if c.StorageURLTTL = getd("storage_url_ttl"); c.StorageURLTTL <= 0 {
		errs = append(errs, fmt.Errorf("storage_url_ttl %q: want a positive number of seconds", s.String("storage_url_ttl")))
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("%w: %v", ErrBadConfig, errs[0])
	}
	return c, nil
}

// ParseLevel maps --log_level to a slog level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if n, err := strconv.Atoi(s); err == nil {
		return slog.Level(n), nil
	}
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("%w: log_level %q", ErrBadConfig, s)
	}
	return l, nil
}
