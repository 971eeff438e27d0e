package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mogfs/protocol"
)

// TestHostileInput sends the real daemons what a broken or hostile client
// would, one case at a time, while a well-behaved client keeps storing and
// fetching a file: every bad request gets a clear error (or, where the
// bytes are legal, a correct answer), nothing is written where it should
// not be, and the well-behaved client never fails.
func TestHostileInput(t *testing.T) {
	c := StartCluster(t, ClusterOpts{})
	cl := c.Client(t)
	dom := c.Opts.Domain
	tracker := c.Trackers[0]
	node := c.Nodes[0]

	// The well-behaved client.
	stop := make(chan struct{})
	var served, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			key := fmt.Sprintf("good/%d", i%20)
			_, err := cl.Store(t.Context(), dom, key, c.Opts.Class, strings.NewReader(key), int64(len(key)))
			if err == nil {
				var b strings.Builder
				_, err = cl.Fetch(t.Context(), dom, key, &b)
				if err == nil && b.String() != key {
					err = fmt.Errorf("fetched %q, want %q", b.String(), key)
				}
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
			} else {
				served.Add(1)
			}
		}
	})

	dialT := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		conn, err := net.Dial("tcp", tracker)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(60 * time.Second))
		return conn, bufio.NewReaderSize(conn, 1<<16)
	}
	// request writes line and returns the reply line.
	request := func(line string) string {
		t.Helper()
		conn, br := dialT()
		go io.WriteString(conn, line+"\r\n") // a long line may be refused before it is read whole
		reply, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("no reply to %.60q...: %v", line, err)
		}
		return strings.TrimRight(reply, "\r\n")
	}
	wantErr := func(name, reply, code string) {
		t.Helper()
		if !strings.HasPrefix(reply, "ERR "+code+" ") && reply != "ERR "+code {
			t.Errorf("%s: reply %.120q, want ERR %s", name, reply, code)
		}
	}

	t.Run("tracker", func(t *testing.T) {
		huge := strings.Repeat("k", 10<<20)
		wantErr("10 MB key", request("create_open domain="+dom+"&key="+huge), "line_too_long")
		wantErr("line of 2 MB", request("noop x="+strings.Repeat("a", 2<<20)), "line_too_long")
		var args strings.Builder
		for i := range 5000 {
			fmt.Fprintf(&args, "&a%d=%d", i, i)
		}
		if r := request("noop x=1" + args.String()); r != "OK " && r != "OK" {
			t.Errorf("noop with 5000 arguments = %.80q, want OK", r)
		}
		wantErr("unknown command", request("frobnicate a=b"), "unknown_command")
		wantErr("NUL in a command", request("no\x00op"), "unknown_command")
		// Keys are bytes in MogileFS: invalid UTF-8, NUL and control
		// characters are legal (so is an empty key at create_open, which
		// the original takes too).
		for _, key := range []string{"bad-\xff\xfe-utf8", "nul-\x00-inside", "ctl-\x01\x7f", ""} {
			r := request(strings.TrimSuffix(protocol.FormatRequest("create_open", map[string]string{"domain": dom, "key": key}), "\r\n"))
			if !strings.HasPrefix(r, "OK ") {
				t.Errorf("create_open of key %q = %.80q, want OK", key, r)
			}
		}
		wantErr("get_paths without a key", request("get_paths domain="+dom), "no_key")
		wantErr("bad escape", request("get_paths domain="+dom+"&key=%zz%"), "unknown_key")
	})

	t.Run("tracker slow and idle clients", func(t *testing.T) {
		// A slowloris client dribbles a request; thousands more connect
		// and say nothing. The well-behaved client is served meanwhile.
		slow, sbr := dialT()
		go func() {
			for _, b := range []byte("noop\r\n") {
				slow.Write([]byte{b})
				time.Sleep(200 * time.Millisecond)
			}
		}()
		n := 10000
		if testing.Short() {
			n = 1000
		}
		idle := make([]net.Conn, 0, n)
		defer func() {
			for _, c := range idle {
				c.Close()
			}
		}()
		for range n {
			conn, err := net.Dial("tcp", tracker)
			if err != nil {
				t.Fatalf("idle connection %d: %v", len(idle)+1, err)
			}
			idle = append(idle, conn)
		}
		before := served.Load()
		deadline := time.Now().Add(20 * time.Second)
		for served.Load() < before+5 {
			if time.Now().After(deadline) {
				t.Fatalf("the good client made %d round trips in 20 s beside %d idle connections", served.Load()-before, n)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if r, err := sbr.ReadString('\n'); err != nil || r != "OK \r\n" {
			t.Errorf("slow client's noop = %q, %v", r, err)
		}
		if r := request("noop"); r != "OK " && r != "OK" {
			t.Errorf("noop beside %d idle connections = %q", n, r)
		}
	})

	t.Run("storage node", func(t *testing.T) {
		base := "http://" + node.HTTP
		secret := filepath.Join(t.TempDir(), "secret")
		os.WriteFile(secret, []byte("secret"), 0o600)
		// Every spelling of a path that leaves the device is refused.
		for _, p := range []string{"/dev1/../../etc/passwd", "/dev1/%2e%2e/%2e%2e/etc/passwd", "/dev1/..%2f..%2fetc%2fpasswd",
			"//dev1/../dev2/x", "/dev1/..\\..\\etc\\passwd", "/dev1/x%00.fid", "/etc/passwd", "/dev1/" + url.PathEscape(secret),
			"/dev1/" + strings.Repeat("a/", 3000) + "x"} {
			for _, method := range []string{"GET", "PUT", "DELETE", "MOVE"} {
				req, err := http.NewRequestWithContext(t.Context(), method, base+p, strings.NewReader("x"))
				if err != nil {
					continue // not even a URL
				}
				req.URL.Opaque = p // send the path as written, not cleaned
				req.Header.Set("Destination", base+"/dev1/moved.fid")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatalf("%s %.60s: %v", method, p, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 400 && resp.StatusCode != 404 || strings.Contains(string(body), "root:") || strings.Contains(string(body), "secret") {
					t.Errorf("%s %.60s = %d %.60q, want 400 or 404", method, p, resp.StatusCode, body)
				}
			}
		}
		if _, err := os.Stat(filepath.Join(node.Docroot, "dev1", "moved.fid")); err == nil {
			t.Error("a refused MOVE made dev1/moved.fid")
		}

		// A PUT whose body is shorter than it declares leaves nothing.
		conn, err := net.Dial("tcp", node.HTTP)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT /dev1/short.fid HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly this much")
		conn.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, conn)
		conn.Close()
		// One longer than it declares stores the declared bytes; the rest
		// is read as the next request, which is refused.
		conn, err = net.Dial("tcp", node.HTTP)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(conn, "PUT /dev1/long.fid HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nfourGARBAGE NOT A REQUEST\r\n\r\n")
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		replies, _ := io.ReadAll(conn)
		conn.Close()
		if !strings.HasPrefix(string(replies), "HTTP/1.1 200") || !strings.Contains(string(replies), "HTTP/1.1 400") {
			t.Errorf("PUT with trailing garbage: replies %.200q, want 200 then 400", replies)
		}
		time.Sleep(200 * time.Millisecond)
		if _, err := os.Stat(filepath.Join(node.Docroot, "dev1", "short.fid")); err == nil {
			t.Error("a PUT cut short left dev1/short.fid")
		}
		if b, err := os.ReadFile(filepath.Join(node.Docroot, "dev1", "long.fid")); err != nil || string(b) != "four" {
			t.Errorf("dev1/long.fid = %q, %v; want the 4 declared bytes", b, err)
		}

		// A slowloris client holds a header open; others are served.
		slow, err := net.Dial("tcp", node.HTTP)
		if err != nil {
			t.Fatal(err)
		}
		defer slow.Close()
		io.WriteString(slow, "GET /dev1/usage HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		before := served.Load()
		deadline := time.Now().Add(20 * time.Second)
		for served.Load() < before+5 {
			if time.Now().After(deadline) {
				t.Fatal("the good client stalled beside a slowloris connection to a node")
			}
			time.Sleep(50 * time.Millisecond)
		}

		// The side channel refuses an over-long line and unknown commands
		// and still answers on the same connection.
		mg, err := net.Dial("tcp", node.IP+":7501")
		if err != nil {
			t.Fatal(err)
		}
		defer mg.Close()
		mg.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(mg, "size /dev1/%s\r\nfrobnicate\r\nsize /dev1/../../etc/passwd\r\nsize /dev1/usage\r\n", strings.Repeat("x", 20000))
		br := bufio.NewReader(mg)
		for _, want := range []string{"ERROR: line longer than", "ERROR: unknown command: frobnicate", "ERROR: uri invalid (contains ..)", "/dev1/usage "} {
			line, err := br.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, want) {
				t.Errorf("side channel reply %q, %v; want %q...", line, err, want)
			}
		}
	})

	close(stop)
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Errorf("the well-behaved client failed %d times (first: %v) during the hostile requests", n, firstErr.Load())
	}
	if served.Load() == 0 {
		t.Error("the well-behaved client was never served")
	}
}
