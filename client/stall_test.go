package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// stallLimit is the Config.Timeout of these tests.
const stallLimit = 300 * time.Millisecond

// hungNode accepts connections and never reads or answers, as a stopped
// storage node whose kernel still completes handshakes. It returns the
// base URL.
func hungNode(t *testing.T) string {
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
	return "http://" + ln.Addr().String()
}

// stallClient is a client with Timeout stallLimit over a tracker whose
// get_paths and create_open name paths.
func stallClient(t *testing.T, paths ...string) *Client {
	t.Helper()
	rt := startReplay(t)
	rt.hook = func(line string) string {
		switch {
		case strings.HasPrefix(line, "get_paths "):
			r := fmt.Sprintf("OK paths=%d", len(paths))
			for i, p := range paths {
				r += fmt.Sprintf("&path%d=%s", i+1, url.QueryEscape(p))
			}
			return r
		case strings.HasPrefix(line, "create_open "):
			r := fmt.Sprintf("OK fid=7&dev_count=%d", len(paths))
			for i, p := range paths {
				r += fmt.Sprintf("&devid_%d=%d&path_%d=%s", i+1, i+1, i+1, url.QueryEscape(p))
			}
			return r
		case strings.HasPrefix(line, "create_close "):
			return "OK "
		}
		return "ERR unknown_command"
	}
	c, err := New(Config{Trackers: []string{rt.addr}, Timeout: stallLimit})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// within fails the test unless f returned within d.
func within(t *testing.T, what string, d time.Duration, f func()) {
	t.Helper()
	start := time.Now()
	f()
	if took := time.Since(start); took > d {
		t.Errorf("%s took %v, want at most %v", what, took, d)
	}
}

// TestHungNode: a node that accepts and never answers costs one
// stallLimit, then the next path or destination is used; alone, it fails
// the call with ErrNodeTimeout.
func TestHungNode(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB: more than the socket buffers hold
	var stored bytes.Buffer
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			stored.Reset()
			io.Copy(&stored, r.Body)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))
	defer good.Close()
	hung := hungNode(t)

	for _, tc := range []struct {
		name  string
		paths []string
		ok    bool
	}{
		{"hung first", []string{hung + "/dev1/7.fid", good.URL + "/dev2/7.fid"}, true},
		{"only hung", []string{hung + "/dev1/7.fid"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := stallClient(t, tc.paths...)
			check := func(op string, err error) {
				t.Helper()
				if tc.ok && err != nil {
					t.Errorf("%s = %v, want success from the good node", op, err)
				}
				if !tc.ok && (!errors.Is(err, ErrNodeTimeout) || !errors.Is(err, ErrNoPaths)) {
					t.Errorf("%s = %v, want ErrNoPaths wrapping ErrNodeTimeout", op, err)
				}
			}
			within(t, "Fetch", 5*stallLimit/2, func() {
				var got bytes.Buffer
				_, err := c.Fetch(t.Context(), "d", "k", &got)
				check("Fetch", err)
				if err == nil && !bytes.Equal(got.Bytes(), body) {
					t.Errorf("Fetch got %d bytes, want the %d stored", got.Len(), len(body))
				}
			})
			within(t, "StoreReaderAt", 5*stallLimit/2, func() {
				_, err := c.StoreReaderAt(t.Context(), "d", "k", "", bytes.NewReader(body), int64(len(body)))
				check("StoreReaderAt", err)
				if err == nil && !bytes.Equal(stored.Bytes(), body) {
					t.Errorf("the good node stored %d bytes, want %d", stored.Len(), len(body))
				}
			})
			within(t, "Store (streaming)", 5*stallLimit/2, func() {
				_, err := c.Store(t.Context(), "d", "k", "", io.LimitReader(bytes.NewReader(body), int64(len(body))), int64(len(body)))
				// A streamed body cannot go to a second destination
				// once read from: the hung node fails it either way.
				if !errors.Is(err, ErrNodeTimeout) {
					t.Errorf("Store streaming to a hung node first = %v, want ErrNodeTimeout", err)
				}
			})
		})
	}
}

// TestStallMidBody: a node that sends half the body and stops is left
// after stallLimit, and the next path sends the rest from where it broke.
func TestStallMidBody(t *testing.T) {
	body := bytes.Repeat([]byte("abcdefgh"), 64<<10) // 512 KiB
	release := make(chan struct{})
	half := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		<-release
	}))
	defer half.Close()
	defer close(release) // before Close, which waits for the handler
	var rng string
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rng = r.Header.Get("Range")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))
	defer good.Close()
	c := stallClient(t, half.URL+"/dev1/7.fid", good.URL+"/dev2/7.fid")
	var got bytes.Buffer
	within(t, "Fetch", 5*stallLimit/2, func() {
		if _, err := c.Fetch(t.Context(), "d", "k", &got); err != nil {
			t.Fatalf("Fetch = %v", err)
		}
	})
	if !bytes.Equal(got.Bytes(), body) {
		t.Errorf("Fetch got %d bytes, want the %d stored", got.Len(), len(body))
	}
	if want := fmt.Sprintf("bytes=%d-", len(body)/2); rng != want {
		t.Errorf("the second path was asked for Range %q, want %q", rng, want)
	}
}

// slowReader waits pause before each of its first two reads: a caller
// producing or taking its bytes slowly.
type slowReader struct {
	r     io.Reader
	pause time.Duration
	reads int
}

func (s *slowReader) Read(p []byte) (int, error) {
	if s.reads++; s.reads <= 2 {
		time.Sleep(s.pause)
	}
	return s.r.Read(p[:min(len(p), 4096)])
}

// TestSlowCallerIsNoStall: time spent in the caller's reader (uploads) or
// between its reads (ReadRange) does not count against the node.
func TestSlowCallerIsNoStall(t *testing.T) {
	body := bytes.Repeat([]byte("x"), 3*4096)
	var stored bytes.Buffer
	node := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			io.Copy(&stored, r.Body)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	}))
	defer node.Close()
	c := stallClient(t, node.URL+"/dev1/7.fid")
	if err := c.Put(t.Context(), node.URL+"/dev1/7.fid", &slowReader{r: bytes.NewReader(body), pause: 2 * stallLimit}, int64(len(body))); err != nil {
		t.Errorf("Put from a slow reader = %v, want success", err)
	}
	if !bytes.Equal(stored.Bytes(), body) {
		t.Errorf("node stored %d bytes, want %d", stored.Len(), len(body))
	}
	rc, err := c.ReadRange(t.Context(), node.URL+"/dev1/7.fid", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got, err := io.ReadAll(&slowReader{r: rc, pause: 2 * stallLimit})
	if err != nil || !bytes.Equal(got, body) {
		t.Errorf("ReadRange read slowly = %d bytes, %v; want %d bytes", len(got), err, len(body))
	}
}
