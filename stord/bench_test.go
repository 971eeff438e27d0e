package stord

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

func benchServer(b *testing.B) (*httptest.Server, string) {
	docroot := b.TempDir()
	os.Mkdir(filepath.Join(docroot, "dev1"), 0o755)
	srv := httptest.NewServer(NewHandler(docroot, nil))
	b.Cleanup(srv.Close)
	return srv, docroot
}

// BenchmarkPut measures durable PUT throughput over loopback: to a new
// path each time, as every upload of a fid is (written in place,
// fdatasync and directory fsync at once), and over an existing path (temp
// file, fdatasync, rename, directory fsync).
func BenchmarkPut(b *testing.B) {
	for _, tc := range []struct {
		size      int
		overwrite bool
	}{{4 << 10, false}, {4 << 10, true}, {1 << 20, false}, {16 << 20, false}} {
		size := tc.size
		name := fmt.Sprintf("%dKiB", size>>10)
		if tc.overwrite {
			name += "/overwrite"
		}
		b.Run(name, func(b *testing.B) {
			srv, _ := benchServer(b)
			body := bytes.Repeat([]byte("m"), size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				n := i
				if tc.overwrite {
					n = i % 100
				}
				req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/dev1/0/000/000/%010d.fid", srv.URL, n), bytes.NewReader(body))
				resp, err := srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("PUT = %d", resp.StatusCode)
				}
			}
		})
	}
}

// BenchmarkGet measures GET throughput (sendfile path) over loopback.
func BenchmarkGet(b *testing.B) {
	for _, tc := range []struct {
		size      int
		overwrite bool
	}{{4 << 10, false}, {4 << 10, true}, {1 << 20, false}, {16 << 20, false}} {
		size := tc.size
		name := fmt.Sprintf("%dKiB", size>>10)
		if tc.overwrite {
			name += "/overwrite"
		}
		b.Run(name, func(b *testing.B) {
			srv, docroot := benchServer(b)
			if err := os.WriteFile(filepath.Join(docroot, "dev1", "f.fid"), bytes.Repeat([]byte("m"), size), 0o644); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				resp, err := srv.Client().Get(srv.URL + "/dev1/f.fid")
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n != int64(size) {
					b.Fatalf("GET = %d, %d bytes", resp.StatusCode, n)
				}
			}
		})
	}
}
