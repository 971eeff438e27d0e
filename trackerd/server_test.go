package trackerd

import (
	"fmt"
	"mogfs/internal/config"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestFraming(t *testing.T) {
	_, addr := startTracker(t)
	c := dial(t, addr)
	tests := []struct {
		name string
		send string
		want []string
	}{
		{"crlf", "noop\r\n", []string{"OK \r\n"}},
		{"bare lf", "noop\n", []string{"OK \r\n"}},
		{"trailing space", "noop \r\n", []string{"OK \r\n"}},
		{"upper case command", "NOOP\r\n", []string{"OK \r\n"}},
		{"empty lines get no reply", "\r\n\n   \r\nnoop\r\n", []string{"OK \r\n"}},
		{"pipelined", "noop\r\nbogus\r\nnoop\n", []string{"OK \r\n", "ERR unknown_command Unknown+server+command\r\n", "OK \r\n"}},
		{"unknown command", "bogus_command foo=bar\r\n", []string{"ERR unknown_command Unknown+server+command\r\n"}},
		{"malformed command", "no-op x\r\n", []string{"ERR unknown_command Unknown+server+command\r\n"}},
		{"binary junk", "\x00\xff\r\n", []string{"ERR unknown_command Unknown+server+command\r\n"}},
		{"callid ok", "noop callid=42\r\n", []string{"OK callid=42\r\n"}},
		{"callid err", "get_paths domain=&callid=a+b\r\n", []string{"ERR no_domain No+domain+provided a+b\r\n"}},
		{"panic is recovered", "test crash=1\r\nnoop\r\n", []string{"ERR failure Operation+failed\r\n", "OK \r\n"}},
		{"list_keys without domain", "list_keys domain=\r\n", []string{"ERR no_domain No+domain+provided\r\n"}},
		{"version", "!version\r\n", []string{Version + "\r\n", ".\r\n"}},
		{"bang help", "!bogus\r\n", []string{"Commands:\r\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := c.raw(tc.send, len(tc.want))
			for i := range tc.want {
				if got[i] != tc.want[i] {
					t.Errorf("reply %d to %q = %q, want %q", i, tc.send, got[i], tc.want[i])
				}
			}
			if tc.name == "bang help" {
				for l := ""; l != ".\r\n"; {
					l = c.raw("", 1)[0]
				}
			}
		})
	}
}

func TestOverlongLineThenGoodLine(t *testing.T) {
	_, addr := startTracker(t)
	c := dial(t, addr)
	long := "noop x=" + strings.Repeat("a", maxLine+10) + "\r\nnoop\r\n"
	got := c.raw(long, 2)
	if !strings.HasPrefix(got[0], "ERR line_too_long ") {
		t.Errorf("reply to over-long line = %q, want ERR line_too_long", got[0])
	}
	if got[1] != "OK \r\n" {
		t.Errorf("reply after over-long line = %q, want OK", got[1])
	}
}

func TestAdminConsole(t *testing.T) {
	_, addr := startTracker(t)
	c := dial(t, addr)
	c.line("noop")
	for _, cmd := range []string{"!stats", "!jobs", "!watch", "!queue"} {
		t.Run(cmd, func(t *testing.T) {
			var lines []string
			for {
				l := c.raw(map[bool]string{true: cmd + "\r\n", false: ""}[lines == nil], 1)[0]
				if l == ".\r\n" {
					break
				}
				lines = append(lines, l)
				if len(lines) > 500 {
					t.Fatal("no terminating dot")
				}
			}
			text := strings.Join(lines, "")
			switch cmd {
			case "!stats":
				if !strings.Contains(text, "uptime ") || !strings.Contains(text, "cmd_noop 1") {
					t.Errorf("!stats = %q, want uptime and cmd_noop 1", text)
				}
			case "!jobs":
				if !strings.Contains(text, "monitor count 1") {
					t.Errorf("!jobs = %q", text)
				}
			case "!watch":
				if !strings.Contains(text, "Added you") {
					t.Errorf("!watch = %q", text)
				}
			}
		})
	}
}

// TestManyIdleConnections: thousands of idle clients cost goroutines only
// and never block a busy one.
func TestManyIdleConnections(t *testing.T) {
	n := 2000
	if testing.Short() {
		n = 200
	}
	_, addr := startTracker(t)
	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("dial #%d: %v", len(conns), err)
		}
		conns = append(conns, c)
	}
	c := dial(t, addr)
	start := time.Now()
	if got := c.line("noop"); got != "OK " {
		t.Fatalf("noop = %q", got)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("noop with %d idle connections took %v", n, d)
	}
}

// TestCloseStopsServing checks Close ends connections and frees the port.
func TestCloseStopsServing(t *testing.T) {
	tr, addr := startTracker(t)
	c := dial(t, addr)
	c.line("noop")
	if err := tr.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	c.c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.br.ReadString('\n'); err == nil {
		t.Error("connection still open after Close")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("still accepting after Close")
	}
	_ = fmt.Sprint()
}

// TestAdminConsoleWant: !want resizes the replicate, delete and fsck
// pools at run time (!jobs shows the new counts), refuses the jobs that
// are not pools and names that are no job; !to answers as the original
// with no worker processes; !shutdown asks Run to stop.
func TestAdminConsoleWant(t *testing.T) {
	tr, addr := startTrackerWith(t, "DBI:SQLite:dbname="+filepath.Join(t.TempDir(), "mogilefs.db"), func(c *Config) {
		c.JobMaster, c.ReplicateJobs, c.DeleteJobs, c.FsckJobs = true, 1, 1, 1
	})
	c := dial(t, addr)
	admin := func(cmd string) string {
		t.Helper()
		var lines []string
		for first := true; ; first = false {
			send := ""
			if first {
				send = cmd + "\r\n"
			}
			l := c.raw(send, 1)[0]
			if l == ".\r\n" {
				return strings.Join(lines, "")
			}
			lines = append(lines, l)
		}
	}
	for cmd, want := range map[string]string{
		"!want 5 replicate":   "Now desiring 5 children doing 'replicate'.\r\n",
		"!want 9999 delete":   "Now desiring 500 children doing 'delete'.\r\n",
		"!want 0 fsck":        "Now desiring 0 children doing 'fsck'.\r\n",
		"!want 2 queryworker": "ERROR: 'queryworker' is not a worker pool in mogfs (a goroutine per connection, or one loop)\r\n",
		"!want 2 bogus":       "ERROR: Invalid class 'bogus'.  Valid classes: delete, fsck, job_master, monitor, queryworker, reaper, replicate\r\n",
		"!want many":          "ERROR: usage: !want <count> <jobclass>\r\n",
		"!to replicate :x":    "Message sent to 0 children.\r\n",
		"!to replicate":       "ERROR: usage: !to <jobclass> <message>\r\n",
	} {
		if got := admin(cmd); got != want {
			t.Errorf("%s = %q, want %q", cmd, got, want)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		jobs := admin("!jobs")
		done := true
		for _, l := range []string{"replicate count 5", "replicate desired 5", "delete count 500", "delete desired 500", "fsck count 0", "fsck desired 0"} {
			done = done && strings.Contains(jobs, l+"\r\n")
		}
		if done {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("!jobs after !want:\n%s", jobs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n, _, _ := tr.jobs.Workers("delete"); n != 500 {
		t.Errorf("delete runs %d workers, want 500", n)
	}
	admin("!want 1 delete")
	for n, _, _ := tr.jobs.Workers("delete"); n != 1; n, _, _ = tr.jobs.Workers("delete") {
		if time.Now().After(deadline) {
			t.Fatalf("delete still runs %d workers after !want 1", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-tr.ShutdownRequested():
		t.Fatal("shutdown requested before !shutdown")
	default:
	}
	admin("!shutdown")
	select {
	case <-tr.ShutdownRequested():
	case <-time.After(5 * time.Second):
		t.Fatal("!shutdown did not request a shutdown")
	}
}

// TestAdminAllow: with admin_allow set, a client outside the networks may
// read but gets ERR unauthorized for the commands that change things, the
// admin console's !shutdown included; a client inside may do everything.
func TestAdminAllow(t *testing.T) {
	dsn := "DBI:SQLite:dbname=" + filepath.Join(t.TempDir(), "mogilefs.db")
	set := config.New("trackerd", Settings)
	if _, err := set.Parse([]string{"--admin_allow=10.0.0.0/8, 192.168.1.7"}); err != nil {
		t.Fatal(err)
	}
	parsed, err := ConfigFromSet(set)
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.7/32")}; !slices.Equal(parsed.AdminAllow, want) {
		t.Fatalf("admin_allow parsed to %v, want %v", parsed.AdminAllow, want)
	}
	tr, addr := startTrackerWith(t, dsn, func(c *Config) { c.AdminAllow = parsed.AdminAllow })
	c := dial(t, addr)
	for cmd, args := range map[string]map[string]string{
		"create_domain":      {"domain": "d"},
		"set_server_setting": {"key": "skip_mkcol", "value": "1"},
		"create_open":        {"domain": "d", "key": "k"},
		"delete":             {"domain": "d", "key": "k"},
		"mogfs_setattr":      {"domain": "d", "path": "p", "mode": "644"},
		"fsck_start":         nil,
	} {
		if got := c.code(cmd, args); got != "unauthorized" {
			t.Errorf("%s from 127.0.0.1 = %s, want unauthorized", cmd, got)
		}
	}
	for _, cmd := range []string{"noop", "get_domains", "get_hosts", "server_settings"} {
		c.ok(cmd, nil)
	}
	if got := c.raw("!shutdown\r\n", 2); got[0] != "ERROR: !shutdown is not allowed from 127.0.0.1 (admin_allow)\r\n" || got[1] != ".\r\n" {
		t.Errorf("!shutdown from outside = %q", got)
	}
	select {
	case <-tr.ShutdownRequested():
		t.Fatal("a refused !shutdown stopped the tracker")
	default:
	}
	if got := c.raw("!version\r\n", 2); got[0] != Version+"\r\n" {
		t.Errorf("!version from outside = %q", got)
	}
	_, inside := startTrackerWith(t, dsn, func(c *Config) { c.AdminAllow = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	dial(t, inside).ok("create_domain", map[string]string{"domain": "d"})
}
