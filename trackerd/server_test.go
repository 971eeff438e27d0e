package trackerd

import (
	"fmt"
	"net"
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
