package trackerd

import (
	"bufio"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mogfs/protocol"
	"mogfs/stord"
)

// startTracker runs a tracker in-process on 127.0.0.1:0 over a fresh SQLite
// database, with a fast monitor and no side channel.
func startTracker(tb testing.TB) (*Tracker, string) {
	tb.Helper()
	return startTrackerDSN(tb, "DBI:SQLite:dbname="+filepath.Join(tb.TempDir(), "mogilefs.db"))
}

func startTrackerDSN(tb testing.TB, dsn string) (*Tracker, string) {
	tb.Helper()
	return startTrackerWith(tb, dsn, func(*Config) {})
}

// startTrackerWith is startTrackerDSN with a hook to change the Config.
func startTrackerWith(tb testing.TB, dsn string, edit func(*Config)) (*Tracker, string) {
	tb.Helper()
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelDebug
	}
	var log *slog.Logger
	if t, ok := tb.(*testing.T); ok {
		log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: level}))
	} else {
		log = slog.New(slog.DiscardHandler)
	}
	cfg := Config{
		Listen:          []string{"127.0.0.1:0"},
		DSN:             dsn,
		MonitorInterval: 100 * time.Millisecond,
		StreamPort:      -1,
		CacheRefresh:    200 * time.Millisecond,
		Logger:          log,
	}
	edit(&cfg)
	tr, err := Start(tb.Context(), cfg)
	if err != nil {
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { tr.Close() })
	return tr, tr.Addrs()[0]
}

// conn is a raw protocol connection.
type conn struct {
	tb testing.TB
	c  net.Conn
	br *bufio.Reader
}

func dial(tb testing.TB, addr string) *conn {
	tb.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { c.Close() })
	return &conn{tb: tb, c: c, br: bufio.NewReader(c)}
}

// raw writes s as is and reads n reply lines.
func (c *conn) raw(s string, n int) []string {
	c.tb.Helper()
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.c.Write([]byte(s)); err != nil {
		c.tb.Fatalf("write: %v", err)
	}
	out := make([]string, n)
	for i := range out {
		l, err := c.br.ReadString('\n')
		if err != nil {
			c.tb.Fatalf("read reply %d to %q: %v", i, s, err)
		}
		out[i] = l
	}
	return out
}

// line sends one request line and returns the reply without "\r\n".
func (c *conn) line(l string) string {
	c.tb.Helper()
	r := c.raw(l+"\r\n", 1)[0]
	if !strings.HasSuffix(r, "\r\n") {
		c.tb.Fatalf("reply %q does not end in CRLF", r)
	}
	return strings.TrimSuffix(r, "\r\n")
}

// do sends cmd with args and parses the reply.
func (c *conn) do(cmd string, args map[string]string) (map[string]string, error) {
	c.tb.Helper()
	return protocol.ParseResponse(c.line(strings.TrimSuffix(protocol.FormatRequest(cmd, args), "\r\n")))
}

// ok is do that must succeed.
func (c *conn) ok(cmd string, args map[string]string) map[string]string {
	c.tb.Helper()
	res, err := c.do(cmd, args)
	if err != nil {
		c.tb.Fatalf("%s %v: %v", cmd, args, err)
	}
	return res
}

// code is do that must fail; it returns the error code.
func (c *conn) code(cmd string, args map[string]string) string {
	c.tb.Helper()
	res, err := c.do(cmd, args)
	if err == nil {
		c.tb.Fatalf("%s %v = OK %v, want an error", cmd, args, res)
	}
	pe, ok := err.(*protocol.Error)
	if !ok {
		c.tb.Fatalf("%s: %v is not a protocol error", cmd, err)
	}
	return pe.Code
}

// node is a real stord data handler on a loopback port, with devN
// directories and usage files (normally written by stord's usage writer).
type node struct {
	srv     *httptest.Server
	docroot string
	ip      string
	port    int
}

func startNode(tb testing.TB, devids ...int) *node {
	tb.Helper()
	return startNodeWith(tb, func(*stord.Handler) {}, devids...)
}

// startNodeWith is startNode with a hook to set up the handler before it
// serves.
func startNodeWith(tb testing.TB, edit func(*stord.Handler), devids ...int) *node {
	tb.Helper()
	return startNodeWrapped(tb, func(h *stord.Handler) http.Handler { edit(h); return h }, devids...)
}

// startNodeWrapped is startNode whose handler wrap may put behind its own
// (a delay, a fault).
func startNodeWrapped(tb testing.TB, wrap func(*stord.Handler) http.Handler, devids ...int) *node {
	tb.Helper()
	root := tb.TempDir()
	for _, id := range devids {
		dir := filepath.Join(root, fmt.Sprintf("dev%d", id))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		usage := fmt.Sprintf("available: 100000000\ndevice: /dev/test\ndisk: %s\ntime: %d\ntotal: 200000000\nuse: 50%%\nused: 100000000\n", dir, time.Now().Unix())
		if err := os.WriteFile(filepath.Join(dir, "usage"), []byte(usage), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	// Hosts need distinct IPs (host.hostip is unique): any 127/8 address.
	l, err := net.Listen("tcp", fmt.Sprintf("127.%d.%d.%d:0", 1+rand.IntN(250), rand.IntN(256), 1+rand.IntN(254)))
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(wrap(stord.NewHandler(root, nil)))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	tb.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	return &node{srv: srv, docroot: root, ip: host, port: p}
}

// setup registers domain testdom, class two, and one host per node with
// its devices, then waits until every device is observed writeable.
func setup(tb testing.TB, c *conn, nodes ...*node) {
	tb.Helper()
	c.ok("create_domain", map[string]string{"domain": "testdom"})
	c.ok("create_class", map[string]string{"domain": "testdom", "class": "two", "mindevcount": "2"})
	ndev := 0
	for i, n := range nodes {
		name := fmt.Sprintf("node%d", i+1)
		c.ok("create_host", map[string]string{"host": name, "ip": n.ip, "port": strconv.Itoa(n.port), "status": "alive"})
		ents, _ := os.ReadDir(n.docroot)
		for _, e := range ents {
			id := strings.TrimPrefix(e.Name(), "dev")
			c.ok("create_device", map[string]string{"hostname": name, "devid": id, "state": "alive"})
			ndev++
		}
	}
	waitWriteable(tb, c, ndev)
}

func waitWriteable(tb testing.TB, c *conn, ndev int) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res := c.ok("get_devices", nil)
		n := 0
		for i := 1; i <= ndev; i++ {
			if res[fmt.Sprintf("dev%d_observed_state", i)] == "writeable" {
				n++
			}
		}
		if n == ndev {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("devices not writeable after 15s: %v", res)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// put uploads body to url with a plain HTTP PUT.
func put(tb testing.TB, url string, body string) {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("PUT %s: %v", url, err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		tb.Fatalf("PUT %s: %s", url, resp.Status)
	}
}

// store uploads body as key through create_open, PUT, create_close.
func store(tb testing.TB, c *conn, key, class, body string) (fid string) {
	tb.Helper()
	res := c.ok("create_open", map[string]string{"domain": "testdom", "key": key, "class": class, "fid": "0", "multi_dest": "1"})
	put(tb, res["path_1"], body)
	c.ok("create_close", map[string]string{"domain": "testdom", "key": key, "fid": res["fid"], "devid": res["devid_1"],
		"path": res["path_1"], "size": strconv.Itoa(len(body))})
	return res["fid"]
}

func mkdirDev(root string, devid int) error {
	return os.MkdirAll(filepath.Join(root, fmt.Sprintf("dev%d", devid)), 0o755)
}

func parseOK(line string) (map[string]string, error) { return protocol.ParseResponse(line) }
