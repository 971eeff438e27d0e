package vfs

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Options are the mount's settings, from `-o opt,opt`.
type Options struct {
	Trackers     []string      // host:port of each tracker
	Mountpoint   string        // where to mount
	Foreground   bool          // -f: do not detach
	Domain       string        // domain=: the root is this domain; "" lists domains at the root
	Class        string        // class=: class of new files ("" = the domain's default)
	CacheSize    int64         // cache_size=: block cache budget in bytes
	CacheDir     string        // cache_dir=: where staging files of open writes live
	AttrTimeout  time.Duration // attr_timeout=: kernel attribute cache
	EntryTimeout time.Duration // entry_timeout=: kernel name cache
	BlockSize    int           // block_size=: read block size in bytes
	MaxInodes    int           // max_inodes=: inodes kept before the oldest names are dropped (0 = no bound)
	ReadOnly     bool          // ro
	AllowOther   bool          // allow_other
	DefaultPerms bool          // default_permissions (on unless no_default_permissions)
	UID, GID     uint32        // uid=, gid=: owner of entries without attributes
	HasUID       bool          // uid= was given
	HasGID       bool          // gid= was given
	LogFile      string        // log=: where a detached mount logs ("" = /dev/null)
	PIDFile      string        // pidfile=: written once mounted, removed at exit (for scripts/down)
	Debug        bool          // debug: log every FUSE request
	Writeback    bool          // writeback: close returns once the file is durable in cache_dir; uploads follow
	// MetricsListen is metrics_listen=: host:port serving Prometheus
	// /metrics ("" = off).
	MetricsListen string
}

// option is one row of the option table: the single place an option is
// declared, its help text and how it is applied.
type option struct {
	name  string
	value bool // takes "=value"
	help  string
	set   func(o *Options, v string) error
}

var optionTable = []option{
	{"domain", true, "show only this domain, as the root", func(o *Options, v string) error { o.Domain = v; return nil }},
	{"class", true, "MogileFS class of new files", func(o *Options, v string) error { o.Class = v; return nil }},
	{"cache_size", true, "block cache size, bytes with K/M/G suffix (default 256M)", func(o *Options, v string) (err error) {
		o.CacheSize, err = ParseSize(v)
		return err
	}},
	{"cache_dir", true, "directory for staging files of files open for writing (default $TMPDIR/mogfs)", func(o *Options, v string) error { o.CacheDir = v; return nil }},
	{"attr_timeout", true, "seconds the kernel caches attributes (default 1)", func(o *Options, v string) (err error) {
		o.AttrTimeout, err = parseSeconds(v)
		return err
	}},
	{"entry_timeout", true, "seconds the kernel caches names (default 1)", func(o *Options, v string) (err error) {
		o.EntryTimeout, err = parseSeconds(v)
		return err
	}},
	{"block_size", true, "read block size, bytes with K/M suffix (default 1M)", func(o *Options, v string) error {
		n, err := ParseSize(v)
		if err != nil {
			return err
		}
		if n < 4096 || n > 64<<20 {
			return fmt.Errorf("%w: block_size %d outside 4K..64M", ErrBadOption, n)
		}
		o.BlockSize = int(n)
		return nil
	}},
	{"max_inodes", true, "inodes the mount keeps before it asks the kernel to drop the least recently used names (default 30000; 0 = no bound)", func(o *Options, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: max_inodes %q", ErrBadOption, v)
		}
		o.MaxInodes = n
		return nil
	}},
	{"uid", true, "owner of files without stored attributes", func(o *Options, v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		o.UID, o.HasUID = uint32(n), true
		return badNum(err, "uid", v)
	}},
	{"gid", true, "group of files without stored attributes", func(o *Options, v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		o.GID, o.HasGID = uint32(n), true
		return badNum(err, "gid", v)
	}},
	{"log", true, "log file of a background mount", func(o *Options, v string) error { o.LogFile = v; return nil }},
	{"pidfile", true, "write the mount's PID here once mounted; removed at exit", func(o *Options, v string) error { o.PIDFile = v; return nil }},
	{"ro", false, "read-only mount", func(o *Options, _ string) error { o.ReadOnly = true; return nil }},
	{"rw", false, "read-write mount (default)", func(o *Options, _ string) error { o.ReadOnly = false; return nil }},
	{"allow_other", false, "let other users access the mount", func(o *Options, _ string) error { o.AllowOther = true; return nil }},
	{"default_permissions", false, "the kernel checks permissions against the modes and owners the mount shows (the default)", func(o *Options, _ string) error { o.DefaultPerms = true; return nil }},
	{"no_default_permissions", false, "no permission checks: any user the mount admits (allow_other) may do anything", func(o *Options, _ string) error { o.DefaultPerms = false; return nil }},
	{"metrics_listen", true, "serve Prometheus metrics at http://ADDR/metrics (host:port, or :port for 127.0.0.1:port; default off)", func(o *Options, v string) error {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("%q: want host:port", v)
		}
		o.MetricsListen = v
		return nil
	}},
	{"debug", false, "log every FUSE request", func(o *Options, _ string) error { o.Debug = true; return nil }},
	{"writeback", false, "close returns once the file is durable in cache_dir (fdatasync), and uploads run in the background; fsync(2) and unmount wait for them, and a crashed mount resumes them at its next start (default off: close returns once the tracker has the file)", func(o *Options, _ string) error { o.Writeback = true; return nil }},
}

// ignoredOptions are generic mount(8) options that mount.fuse3 and fstab
// pass along; they mean nothing to mogfs.
var ignoredOptions = map[string]bool{
	"dev": true, "nodev": true, "suid": true, "nosuid": true, "exec": true, "noexec": true,
	"auto": true, "noauto": true, "user": true, "nouser": true, "users": true, "_netdev": true,
	"nofail": true, "defaults": true, "async": true, "sync": true, "atime": true, "noatime": true,
	"relatime": true, "norelatime": true, "strictatime": true, "nodiratime": true, "lazytime": true,
	"x-systemd.automount": true, "comment": true,
}

// ErrBadOption is returned by ParseArgs and ParseOptions for malformed
// arguments; the message names the culprit, and the caller should print it
// and exit with status 2.
var ErrBadOption = errors.New("mogfs: bad option")

// Defaults returns the options of a mount with no -o.
func Defaults() Options {
	return Options{
		CacheSize:    256 << 20,
		AttrTimeout:  time.Second,
		EntryTimeout: time.Second,
		BlockSize:    1 << 20,
		MaxInodes:    30_000, // about 30 MB of inodes
		// POSIX permission rules (owner-only chmod, chown, explicit
		// utimes; sticky directories; open and access modes) are the
		// kernel's generic checks over the modes and owners the mount
		// reports, as JuiceFS does by default.
		DefaultPerms: true,
	}
}

// ParseArgs parses the command line (without argv[0]): `TRACKERS MOUNTPOINT
// [-o opt,opt] [-f]`, options and flags in any position, as mount(8)
// helpers are invoked (`mogfs SOURCE MOUNTPOINT -o rw,dev,domain=d`).
func ParseArgs(args []string) (Options, error) {
	o := Defaults()
	var pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-f" || a == "--foreground":
			o.Foreground = true
		case a == "-o":
			if i+1 >= len(args) {
				return o, fmt.Errorf("%w: -o needs a value", ErrBadOption)
			}
			i++
			if err := ParseOptions(&o, args[i]); err != nil {
				return o, err
			}
		case strings.HasPrefix(a, "-o") && len(a) > 2:
			if err := ParseOptions(&o, a[2:]); err != nil {
				return o, err
			}
		case a == "-n" || a == "-s" || a == "-v" || a == "-N":
			// mount(8) passes -n (no mtab), -s (sloppy), -v (verbose) to helpers.
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case strings.HasPrefix(a, "-") && a != "-":
			return o, fmt.Errorf("%w: unknown flag %q", ErrBadOption, a)
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) != 2 {
		return o, fmt.Errorf("%w: want TRACKERS MOUNTPOINT, got %d arguments", ErrBadOption, len(pos))
	}
	trackers, err := ParseTrackers(pos[0])
	if err != nil {
		return o, err
	}
	o.Trackers, o.Mountpoint = trackers, pos[1]
	return o, nil
}

// ParseOptions applies a comma-separated option list to o.
func ParseOptions(o *Options, list string) error {
	for _, kv := range strings.Split(list, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		name, val, hasVal := strings.Cut(kv, "=")
		if ignoredOptions[name] || strings.HasPrefix(name, "x-") {
			continue
		}
		var opt *option
		for i := range optionTable {
			if optionTable[i].name == name {
				opt = &optionTable[i]
			}
		}
		switch {
		case opt == nil:
			return fmt.Errorf("%w: unknown option %q", ErrBadOption, name)
		case opt.value && !hasVal:
			return fmt.Errorf("%w: %s needs a value (%s=...)", ErrBadOption, name, name)
		case !opt.value && hasVal:
			return fmt.Errorf("%w: %s takes no value", ErrBadOption, name)
		}
		if err := opt.set(o, val); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrBadOption, name, err)
		}
	}
	return nil
}

// ParseTrackers parses "host:port[,host:port]".
func ParseTrackers(s string) ([]string, error) {
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		host, port, err := net.SplitHostPort(t)
		if err != nil || host == "" {
			return nil, fmt.Errorf("%w: tracker %q is not host:port", ErrBadOption, t)
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return nil, fmt.Errorf("%w: tracker %q has a bad port", ErrBadOption, t)
		}
		out = append(out, t)
	}
	return out, nil
}

// ParseSize parses a byte count with an optional K, M, G or T suffix
// (powers of 1024, optional trailing "B" or "iB").
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	t = strings.TrimSuffix(strings.TrimSuffix(t, "B"), "I")
	mult := int64(1)
	if t != "" {
		switch t[len(t)-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult > 1 {
			t = t[:len(t)-1]
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: want a number with optional K/M/G/T suffix", s)
	}
	return n * mult, nil
}

func parseSeconds(v string) (time.Duration, error) {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 || f > 1e6 {
		return 0, fmt.Errorf("%q: want seconds", v)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func badNum(err error, name, v string) error {
	if err != nil {
		return fmt.Errorf("%s %q: want a number", name, v)
	}
	return nil
}

// OptionHelp lists the options for the usage message, from the table.
func OptionHelp() string {
	var b strings.Builder
	for _, o := range optionTable {
		n := o.name
		if o.value {
			n += "=..."
		}
		fmt.Fprintf(&b, "  %-22s %s\n", n, o.help)
	}
	return b.String()
}
