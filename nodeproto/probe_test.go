package nodeproto

import (
	"crypto/md5"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestProbes(t *testing.T) {
	body := []byte("hello, replica")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/dev1/ok.fid":
			w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			if r.Method == http.MethodGet {
				w.Write(body)
			}
		case "/dev1/broken.fid":
			http.Error(w, "disk on fire", http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := &Client{HTTP: srv.Client(), Timeout: 5 * time.Second}
	ctx := t.Context()
	sum := md5.Sum(body)

	tests := []struct {
		name string
		get  bool
		path string
		want Probe
	}{
		{"head ok", false, "/dev1/ok.fid", Probe{Status: "200 OK", Code: 200, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT", Length: int64(len(body))}},
		{"get ok", true, "/dev1/ok.fid", Probe{Status: "200 OK", Code: 200, LastModified: "Mon, 02 Jan 2006 15:04:05 GMT", Length: int64(len(body)), Sum: sum[:]}},
		{"head missing", false, "/dev1/gone.fid", Probe{Status: "404 Not Found", Code: 404, Length: 19}},
		{"get missing", true, "/dev1/gone.fid", Probe{Status: "404 Not Found", Code: 404}},
		{"get error", true, "/dev1/broken.fid", Probe{Status: "500 Internal Server Error", Code: 500}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Probe
			var err error
			if tc.get {
				p, err = c.GetProbe(ctx, srv.URL+tc.path, HashMD5, 100)
			} else {
				p, err = c.HeadProbe(ctx, srv.URL+tc.path)
			}
			if err != nil || p.Status != tc.want.Status || p.Code != tc.want.Code || p.LastModified != tc.want.LastModified ||
				p.Length != tc.want.Length || string(p.Sum) != string(tc.want.Sum) {
				t.Errorf("probe %s = %+v, %v; want %+v", tc.path, p, err, tc.want)
			}
		})
	}

	// No answer is an error that keeps its cause.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/dev1/ok.fid"
	ln.Close()
	var op *net.OpError
	if _, err := c.HeadProbe(ctx, dead); !errors.Is(err, ErrUnreachable) || !errors.As(err, &op) || op.Op != "dial" {
		t.Errorf("HeadProbe(closed port) = %v; want ErrUnreachable wrapping a dial error", err)
	}
	if _, err := c.GetProbe(ctx, dead, HashMD5, 0); !errors.Is(err, ErrUnreachable) {
		t.Errorf("GetProbe(closed port) = %v; want ErrUnreachable", err)
	}
	if _, err := c.GetProbe(ctx, srv.URL+"/dev1/ok.fid", 99, 0); err == nil {
		t.Error("GetProbe with an unknown hash type succeeded")
	}
}
