package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mogfs/protocol"
)

// Names the benchmark cluster registers.
const (
	benchDomain = "bench"
	benchClass  = "one" // mindevcount=1: replication would only add noise
)

// node is one stord process on its own loopback address.
type node struct {
	ip      string
	http    string // ip:7500
	docroot string
	devID   int
	proc    *proc
}

// cluster is one trackerd and its storage nodes, all started by us.
type cluster struct {
	dir     string
	tracker string // 127.0.0.1:port
	trackd  *proc
	nodes   []*node
}

// startCluster starts trackerd on db (DBI DSN, user, pass) and n storage
// nodes, registers them with the tracker protocol (create_host,
// create_device, create_domain, create_class) and waits until every device
// is observed writeable. On error everything started is stopped again.
func startCluster(ctx context.Context, bin, dir, dsn, user, pass string, n int) (c *cluster, err error) {
	c = &cluster{dir: dir}
	defer func() {
		if err != nil {
			c.stop()
		}
	}()
	if c.tracker, err = freeAddr(); err != nil {
		return nil, err
	}
	c.trackd, err = startTrackerd(dir, "trackerd", bin, c.tracker, dsn, user, pass)
	if err != nil {
		return nil, err
	}
	if err := waitListening(c.trackd, c.tracker, 30*time.Second); err != nil {
		return nil, err
	}
	for i := range n {
		ip, err := loopbackIP(7500, 7501)
		if err != nil {
			return nil, err
		}
		nd := &node{ip: ip, http: ip + ":7500", docroot: filepath.Join(dir, fmt.Sprintf("node%d", i+1)), devID: i + 1}
		if err := os.MkdirAll(filepath.Join(nd.docroot, fmt.Sprintf("dev%d", nd.devID)), 0o755); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		nd.proc, err = startProc(dir, fmt.Sprintf("stord%d", i+1), filepath.Join(bin, "stord"),
			"--httplisten", nd.http, "--mgmtlisten", ip+":7501", "--docroot", nd.docroot)
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, nd)
		if err := waitListening(nd.proc, nd.http, 30*time.Second); err != nil {
			return nil, err
		}
	}
	if err := c.register(ctx); err != nil {
		return nil, err
	}
	return c, c.waitWriteable(ctx, 30*time.Second)
}

func (c *cluster) register(ctx context.Context) error {
	t, err := dialTracker(ctx, c.tracker)
	if err != nil {
		return err
	}
	defer t.close()
	type step struct {
		cmd  string
		args map[string]string
	}
	steps := []step{
		{"create_domain", map[string]string{"domain": benchDomain}},
		{"create_class", map[string]string{"domain": benchDomain, "class": benchClass, "mindevcount": "1"}},
	}
	for i, nd := range c.nodes {
		host := fmt.Sprintf("node%d", i+1)
		steps = append(steps,
			step{"create_host", map[string]string{"host": host, "ip": nd.ip, "port": "7500", "status": "alive"}},
			step{"create_device", map[string]string{"hostname": host, "devid": strconv.Itoa(nd.devID), "state": "alive"}})
	}
	for _, s := range steps {
		if _, err := t.do(s.cmd, s.args); err != nil {
			return fmt.Errorf("%w: %s %v: %v", ErrNotReady, s.cmd, s.args, err)
		}
	}
	return nil
}

// waitWriteable polls get_devices until every device's observed_state is
// writeable.
func (c *cluster) waitWriteable(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	var last map[string]string
	for {
		if t, err := dialTracker(ctx, c.tracker); err == nil {
			last, err = t.do("get_devices", nil)
			t.close()
			if err == nil {
				n, _ := strconv.Atoi(last["devices"])
				ok := n >= len(c.nodes)
				for i := 1; i <= n; i++ {
					if last[fmt.Sprintf("dev%d_observed_state", i)] != "writeable" {
						ok = false
					}
				}
				if ok {
					return nil
				}
			}
		}
		if c.trackd.exited() {
			return fmt.Errorf("%w: trackerd exited\n%s", ErrNotReady, c.trackd.logTail())
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%w: devices not writeable after %v: %v\n%s", ErrNotReady, d, last, c.trackd.logTail())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop ends every daemon: SIGTERM first so they shut down as in production.
func (c *cluster) stop() {
	for _, nd := range c.nodes {
		nd.proc.stop(syscall.SIGTERM, 5*time.Second)
	}
	c.trackd.stop(syscall.SIGTERM, 5*time.Second)
}

// tconn is one raw tracker connection: the tracker workloads measure the
// tracker, not the client library's pool, and need an exact connection
// count.
type tconn struct {
	c net.Conn
	r *bufio.Reader
}

func dialTracker(ctx context.Context, addr string) (*tconn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("bench: tracker %s: %w", addr, err)
	}
	return &tconn{c: c, r: bufio.NewReaderSize(c, 64<<10)}, nil
}

// do sends one request and reads its reply; an ERR reply is a
// *protocol.Error. The caller sets deadlines (once per sample: a deadline
// per request would cost more than a noop).
func (t *tconn) do(cmd string, args map[string]string) (map[string]string, error) {
	if _, err := t.c.Write([]byte(protocol.FormatRequest(cmd, args))); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", cmd, err)
	}
	line, err := t.r.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", cmd, err)
	}
	res, err := protocol.ParseResponse(strings.TrimRight(line, "\r\n"))
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", cmd, err)
	}
	return res, nil
}

func (t *tconn) close() { t.c.Close() }

// extraTracker starts another trackerd on the cluster's database with
// extra flags and returns its address and a function that stops it.
func (c *cluster) extraTracker(bin, dsn, user, pass string, extra ...string) (addr string, stop func(), err error) {
	if addr, err = freeAddr(); err != nil {
		return "", func() {}, err
	}
	p, err := startTrackerd(c.dir, "trackerd-extra", bin, addr, dsn, user, pass, append([]string{"--job_master=0"}, extra...)...)
	if err != nil {
		return "", func() {}, err
	}
	stop = func() { p.stop(syscall.SIGTERM, 10*time.Second) }
	if err := waitListening(p, addr, 30*time.Second); err != nil {
		stop()
		return "", func() {}, err
	}
	return addr, stop, nil
}

// startTrackerd starts a trackerd on addr and the database, with the
// bench's settings and extra flags: --monitor_interval 0.5 makes devices
// writeable within a second, --default_mindevcount 1 gives files of the
// default class one copy.
func startTrackerd(dir, name, bin, addr, dsn, user, pass string, extra ...string) (*proc, error) {
	args := append([]string{"--listen", addr, "--db_dsn", dsn, "--db_user", user, "--db_pass", pass,
		"--monitor_interval", "0.5", "--default_mindevcount", "1", "--log_level", "warn"}, extra...)
	return startProc(dir, name, filepath.Join(bin, "trackerd"), args...)
}
