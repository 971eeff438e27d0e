package trackerd

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// benchKeys is how many keys the namespace benchmarks preload. Rows are
// inserted one transaction each (about 1 ms on SQLite), so this stays
// modest to keep -benchtime=1x runs in CI short.
const benchKeys = 5000

// benchFixture is a tracker with domain testdom and benchKeys keys whose
// single replica is on device 1 of a node.
func benchFixture(b *testing.B, nodes ...*node) (*Tracker, string) {
	b.Helper()
	return benchFixtureWith(b, func(*Config) {}, nodes...)
}

// benchFixtureWith is benchFixture with a hook to change the Config.
func benchFixtureWith(b *testing.B, edit func(*Config), nodes ...*node) (*Tracker, string) {
	b.Helper()
	tr, addr := startTrackerWith(b, "DBI:SQLite:dbname="+filepath.Join(b.TempDir(), "mogilefs.db"), edit)
	c := dial(b, addr)
	setup(b, c, nodes...)
	dmid := tr.ns.snap().domains["testdom"].ID
	keys := make([]string, benchKeys)
	for i := range keys {
		keys[i] = fmt.Sprintf("/bench/%06d", i)
	}
	insertKeys(b, tr, dmid, keys)
	return tr, addr
}

// memNode is a storage node for benchmarks that keeps files in memory, so
// the figures measure the tracker and not the disk: it answers the
// monitor's usage and write-test requests, PUT, GET, HEAD and MKCOL.
func memNode(b *testing.B, devid int) *node {
	b.Helper()
	var mu sync.Mutex
	files := map[string][]byte{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/usage"):
			fmt.Fprintf(w, "available: 100000000\ntotal: 200000000\nused: 100000000\n")
		case r.Method == http.MethodPut:
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			files[r.URL.Path] = body
			mu.Unlock()
		case r.Method == http.MethodGet || r.Method == http.MethodHead:
			mu.Lock()
			body, ok := files[r.URL.Path]
			mu.Unlock()
			if !ok && strings.HasSuffix(r.URL.Path, ".fid") {
				body, ok = []byte("x"), true // preloaded keys have length 1
			}
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			if r.Method == http.MethodGet {
				w.Write(body)
			}
		default:
			w.WriteHeader(http.StatusCreated)
		}
	})
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	host, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	p, _ := strconv.Atoi(port)
	n := &node{srv: srv, ip: host, port: p, docroot: b.TempDir()}
	// setup reads the device list from the docroot.
	if err := mkdirDev(n.docroot, devid); err != nil {
		b.Fatal(err)
	}
	return n
}

func BenchmarkNoop(b *testing.B) {
	_, addr := startTracker(b)
	c := dial(b, addr)
	b.ReportAllocs()
	for b.Loop() {
		if r := c.line("noop"); r != "OK " {
			b.Fatal(r)
		}
	}
}

func BenchmarkGetPathsNoverify(b *testing.B) {
	_, addr := benchFixture(b, memNode(b, 1))
	c := dial(b, addr)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := c.line(fmt.Sprintf("get_paths domain=testdom&key=/bench/%06d&noverify=1", i%benchKeys))
		if !strings.HasPrefix(r, "OK ") {
			b.Fatal(r)
		}
		i++
	}
}

// BenchmarkGetPathsNoverifyUncached is BenchmarkGetPathsNoverify with the
// tracker's get_paths cache off: every request reads the database.
func BenchmarkGetPathsNoverifyUncached(b *testing.B) {
	_, addr := benchFixtureWith(b, func(c *Config) { c.GetPathsCacheTTL = -1 }, memNode(b, 1))
	c := dial(b, addr)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r := c.line(fmt.Sprintf("get_paths domain=testdom&key=/bench/%06d&noverify=1", i%benchKeys))
		if !strings.HasPrefix(r, "OK ") {
			b.Fatal(r)
		}
		i++
	}
}

func BenchmarkGetPathsParallel(b *testing.B) {
	_, addr := benchFixture(b, memNode(b, 1))
	b.ReportAllocs()
	b.SetParallelism(16) // 32 connections on 2 cores
	var seq atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := dial(b, addr)
		i := int(seq.Add(1000))
		for pb.Next() {
			r := c.line(fmt.Sprintf("get_paths domain=testdom&key=/bench/%06d&noverify=1", i%benchKeys))
			if !strings.HasPrefix(r, "OK ") {
				b.Error(r)
				return
			}
			i++
		}
	})
}

// BenchmarkCreateOpenClose measures create_open + create_close pairs over
// 8 connections (the PUT goes to an in-memory node and is excluded), with
// SQLite's synchronous=FULL (the default) and NORMAL.
func BenchmarkCreateOpenClose(b *testing.B) {
	for _, mode := range []string{"FULL", "NORMAL"} {
		b.Run("sync="+mode, func(b *testing.B) {
			tr, err := Start(b.Context(), Config{
				Listen: []string{"127.0.0.1:0"}, DSN: "DBI:SQLite:dbname=" + filepath.Join(b.TempDir(), "mogilefs.db"),
				MonitorInterval: 100 * time.Millisecond, StreamPort: -1, SQLiteSynchronous: mode,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { tr.Close() })
			addr := tr.Addrs()[0]
			n := memNode(b, 1)
			setup(b, dial(b, addr), n)
			b.ReportAllocs()
			b.SetParallelism(4) // 8 connections on 2 cores
			var seq atomic.Int64
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := dial(b, addr)
				for pb.Next() {
					k := seq.Add(1)
					o := c.line(fmt.Sprintf("create_open domain=testdom&key=/co/%d&fid=0&multi_dest=1", k))
					res, err := parseOK(o)
					if err != nil {
						b.Error(o)
						return
					}
					r := c.line(fmt.Sprintf("create_close domain=testdom&key=/co/%d&fid=%s&devid=%s&path=%s&size=1", k, res["fid"], res["devid_1"], res["path_1"]))
					if r != "OK " {
						b.Error(r)
						return
					}
				}
			})
		})
	}
}

func BenchmarkListKeys(b *testing.B) {
	_, addr := benchFixture(b, memNode(b, 1))
	c := dial(b, addr)
	b.ReportAllocs()
	after := ""
	for b.Loop() {
		r := c.line("list_keys domain=testdom&prefix=/bench/&limit=1000&after=" + after)
		res, err := parseOK(r)
		if err != nil {
			after = "" // none_match: wrap around
			continue
		}
		after = res["next_after"]
	}
}

// BenchmarkMogfsList pages through a directory of 20,000 keys and 2,000
// key prefixes with mogfs_list, 1,000 entries a page (ns/op is one page).
func BenchmarkMogfsList(b *testing.B) {
	tr, addr := startTracker(b)
	c := dial(b, addr)
	c.ok("create_domain", args{"domain": "testdom"})
	var keys []string
	for i := range 20000 {
		keys = append(keys, fmt.Sprintf("big/f%06d", i))
	}
	for i := range 2000 {
		keys = append(keys, fmt.Sprintf("big/p%05d/a", i), fmt.Sprintf("big/p%05d/b", i))
	}
	insertKeys(b, tr, tr.ns.snap().domains["testdom"].ID, keys)
	b.ReportAllocs()
	after := ""
	for b.Loop() {
		res := c.ok("mogfs_list", args{"domain": "testdom", "prefix": "big/", "after": after, "limit": "1000"})
		after = res["next_after"]
		if res["done"] == "1" {
			after = ""
		}
	}
}
