package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

// TestCopyStall: a copy whose source never answers or stops sending half
// way, or whose destination accepts the connection and never reads or
// never answers, ends after about NodeTimeout with an error naming the
// side that stopped, instead of holding the worker for CopyTimeout (45 s).
func TestCopyStall(t *testing.T) {
	const limit = 300 * time.Millisecond
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB: more than the socket buffers hold
	release := make(chan struct{})
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}))
	defer src.Close()
	halfSrc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		<-release
	}))
	defer halfSrc.Close()
	silentSrc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer silentSrc.Close()
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) // MKCOL and PUT
	}))
	defer dst.Close()
	silentDst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPut {
			<-release // takes the whole body, never answers
		}
	}))
	defer silentDst.Close()
	defer close(release) // before the Closes, which wait for the handlers
	hung := hungListener(t)

	j := New(Config{NodeTimeout: limit})
	for _, tc := range []struct {
		name     string
		src, dst string
		side     error
	}{
		{"source never answers", silentSrc.URL, dst.URL, errSource},
		{"source stops half way", halfSrc.URL, dst.URL, errSource},
		{"destination never reads", src.URL, hung, errDest},
		{"destination never answers", src.URL, silentDst.URL, errDest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			snap := &monitor.Snapshot{Hosts: map[int]meta.Host{}, Devices: map[int]meta.Device{}}
			for i, u := range []string{tc.src, tc.dst} {
				host, port, _ := net.SplitHostPort(u[len("http://"):])
				p, _ := strconv.Atoi(port)
				snap.Hosts[i+1] = meta.Host{ID: i + 1, IP: host, HTTPPort: p, Status: "alive"}
				snap.Devices[i+1] = meta.Device{ID: i + 1, HostID: i + 1, Status: "alive"}
			}
			start := time.Now()
			_, err := j.httpCopy(t.Context(), snap, copyArgs{fid: 7, length: int64(len(body)), src: 1, dst: 2})
			took := time.Since(start)
			if !errors.Is(err, tc.side) || !errors.Is(err, errStalled) {
				t.Errorf("httpCopy = %v, want %v and errStalled", err, tc.side)
			}
			// At most a MKCOL's timeout, then the stall's (plus, after
			// the whole body, its sync allowance).
			if bound := 3*limit + nodeproto.SyncAllowance(int64(len(body))); took > bound {
				t.Errorf("httpCopy took %v, want at most %v", took, bound)
			}
		})
	}
}

// hungListener accepts connections and never reads or answers, as a
// stopped node whose kernel still completes handshakes; it returns the
// base URL.
func hungListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	return fmt.Sprintf("http://%s", ln.Addr())
}
