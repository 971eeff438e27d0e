package nodeproto

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var testSecret = []byte("0123456789abcdef-test")

func TestSignVerify(t *testing.T) {
	const p = "/dev1/0/000/000/0000000042.fid"
	now := time.Unix(1_700_000_000, 0)
	valid := Sign(testSecret, PermWrite, p, now.Add(time.Hour))
	read := Sign(testSecret, PermRead, p, now.Add(time.Hour))
	// tamper flips the last character of the MAC to another valid one.
	tamper := func(s string) string {
		last := s[len(s)-1]
		repl := "A"
		if last == 'A' {
			repl = "E" // keeps the unused low bits zero
		}
		return s[:len(s)-1] + repl
	}
	tests := []struct {
		name  string
		need  Perm
		path  string
		query string
		at    time.Time
		want  error
	}{
		{"write", PermWrite, p, "sig=" + valid, now, nil},
		{"write permits read", PermRead, p, "sig=" + valid, now, nil},
		{"read", PermRead, p, "sig=" + read, now, nil},
		{"other params kept", PermRead, p, "a=1&sig=" + read + "&b", now, nil},
		{"at the expiry second", PermWrite, p, "sig=" + valid, now.Add(time.Hour), nil},
		{"read for a write", PermWrite, p, "sig=" + read, now, ErrSigReadOnly},
		{"expired", PermWrite, p, "sig=" + valid, now.Add(time.Hour + time.Second), ErrSigExpired},
		{"no query", PermWrite, p, "", now, ErrUnsigned},
		{"no sig", PermWrite, p, "x=1", now, ErrUnsigned},
		{"empty sig", PermWrite, p, "sig=", now, ErrSigInvalid},
		{"other path", PermWrite, "/dev1/0/000/000/0000000043.fid", "sig=" + valid, now, ErrSigInvalid},
		{"other device", PermWrite, "/dev2/0/000/000/0000000042.fid", "sig=" + valid, now, ErrSigInvalid},
		{"tampered mac", PermWrite, p, "sig=" + tamper(valid), now, ErrSigInvalid},
		{"perm raised", PermWrite, p, "sig=w" + read[1:], now, ErrSigInvalid},
		{"expiry moved", PermWrite, p, "sig=" + strings.Replace(valid, ".17", ".27", 1), now, ErrSigInvalid},
		{"leading zero expiry", PermWrite, p, "sig=" + strings.Replace(valid, ".17", ".017", 1), now, ErrSigInvalid},
		{"two sigs", PermWrite, p, "sig=" + valid + "&sig=" + valid, now, ErrSigInvalid},
		{"padded mac", PermWrite, p, "sig=" + valid + "=", now, ErrSigInvalid},
		{"bad perm", PermRead, p, "sig=x" + read[1:], now, ErrSigInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(testSecret, tc.need, tc.path, tc.query, tc.at)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Fatalf("Verify(%c, %s, %q) = %v, want %v", tc.need, tc.path, tc.query, err, tc.want)
			}
		})
	}
	if err := Verify([]byte("another-secret-16b"), PermRead, p, "sig="+valid, now); !errors.Is(err, ErrSigInvalid) {
		t.Errorf("Verify under another secret = %v, want ErrSigInvalid", err)
	}
}

func TestSignerURL(t *testing.T) {
	s := NewSigner(testSecret, time.Hour)
	now := time.Now()
	for _, tc := range []struct{ in, path, rest string }{
		{"http://10.0.0.1:7500/dev1/0/000/000/0000000042.fid", "/dev1/0/000/000/0000000042.fid", ""},
		{"http://10.0.0.1:7500//dev1/usage", "/dev1/usage", ""},
		{"http://10.0.0.1:7500/dev1/x?a=b&sig=w.1.zzz", "/dev1/x", "a=b&"},
		{"https://node.example/dev2/y", "/dev2/y", ""},
		{"/dev3/z", "/dev3/z", ""},
	} {
		got := s.URL(tc.in, PermWrite)
		base, q, ok := strings.Cut(got, "?")
		if !ok || base != strings.Split(tc.in, "?")[0] || !strings.HasPrefix(q, tc.rest+"sig=w.") {
			t.Errorf("URL(%q) = %q", tc.in, got)
			continue
		}
		if err := Verify(testSecret, PermWrite, tc.path, q, now); err != nil {
			t.Errorf("Verify of URL(%q) = %q: %v", tc.in, got, err)
		}
		if u := Unsigned(got); u != strings.TrimSuffix(strings.Split(tc.in, "?")[0]+"?"+strings.TrimSuffix(tc.rest, "&"), "?") {
			t.Errorf("Unsigned(%q) = %q", got, u)
		}
	}
	var off *Signer
	if got := off.URL("http://h/dev1/x", PermRead); got != "http://h/dev1/x" {
		t.Errorf("nil Signer URL = %q, want it unchanged", got)
	}
	if NewSigner(nil, time.Hour) != nil {
		t.Error("NewSigner(nil) is not nil")
	}
}

func TestSignerClient(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		perm, _ := MethodPerm(r.Method)
		got = append(got, r.Method+" "+r.URL.RawQuery[:min(len(r.URL.RawQuery), 6)])
		if err := Verify(testSecret, perm, canonical(r.URL.Path), r.URL.RawQuery, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusForbidden)
		}
	}))
	defer srv.Close()
	c := NewSigner(testSecret, time.Minute).Client(srv.Client())
	for _, m := range []string{"GET", "PUT", "DELETE", "MKCOL"} {
		req, _ := http.NewRequest(m, srv.URL+"/dev1/0/000/?sig=r.1.stale", strings.NewReader("x"))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s through the signing client = %s %s", m, resp.Status, b)
		}
		if req.URL.RawQuery != "sig=r.1.stale" {
			t.Errorf("the signing client changed the caller's request: %q", req.URL.RawQuery)
		}
	}
	want := []string{"GET sig=r.", "PUT sig=w.", "DELETE sig=w.", "MKCOL sig=w."}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

func TestVerifyDestination(t *testing.T) {
	s := NewSigner(testSecret, time.Minute)
	dst := s.URL("http://10.0.0.1:7500/dev1/0/000/000/0000000043.fid", PermWrite)
	if err := VerifyDestination(testSecret, dst, time.Now()); err != nil {
		t.Errorf("VerifyDestination(%q) = %v", dst, err)
	}
	for _, d := range []string{
		"http://10.0.0.1:7500/dev1/0/000/000/0000000043.fid",
		strings.Replace(dst, "43.fid", "44.fid", 1),
		s.URL("http://10.0.0.1:7500/dev1/0/000/000/0000000043.fid", PermRead),
		"http://10.0.0.1:7500/dev1/../x?" + strings.SplitN(dst, "?", 2)[1],
		"%zz",
	} {
		if err := VerifyDestination(testSecret, d, time.Now()); err == nil {
			t.Errorf("VerifyDestination(%q) = nil, want an error", d)
		}
	}
}

func TestCheckSecret(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want error
	}{{"", nil}, {"short", ErrShortSecret}, {strings.Repeat("k", MinSecretLen), nil}} {
		if err := CheckSecret([]byte(tc.s)); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("CheckSecret(%q) = %v, want %v", tc.s, err, tc.want)
		}
	}
}

// FuzzVerify: Verify never panics, and accepts a query only if it carries
// exactly the signature Sign makes for that path, permission and expiry.
func FuzzVerify(f *testing.F) {
	now := time.Unix(1_700_000_000, 0)
	const p = "/dev1/0/000/000/0000000042.fid"
	for _, q := range []string{"", "sig=", "sig=w.1.x", "sig=" + Sign(testSecret, PermWrite, p, now.Add(time.Hour)),
		"a&sig=" + Sign(testSecret, PermRead, p, now) + "&b=1", "sig=r.99999999999999999999.AAAA", "sig=w..", "&&sig&"} {
		f.Add(p, q, true)
	}
	f.Fuzz(func(t *testing.T, path, query string, write bool) {
		need := PermRead
		if write {
			need = PermWrite
		}
		err := Verify(testSecret, need, path, query, now)
		if err == nil {
			val := ""
			for part := range strings.SplitSeq(query, "&") {
				if v, ok := strings.CutPrefix(part, SigParam+"="); ok {
					val = v
				}
			}
			perm, exp, _, ok := parseSig(val)
			if !ok {
				t.Fatalf("Verify(%q, %q) = nil for an unparsable signature", path, query)
			}
			if re := Sign(testSecret, perm, path, unixOf(exp)); re != val {
				t.Fatalf("Verify(%q, %q) = nil, but Sign gives %q", path, query, re)
			}
		}
		// Round trip: what Sign makes for the fuzzed path verifies.
		q := SigParam + "=" + Sign(testSecret, need, path, now)
		if err := Verify(testSecret, need, path, q, now); err != nil {
			t.Fatalf("Verify(%q, Sign) = %v", path, err)
		}
	})
}

func unixOf(exp string) time.Time {
	var n int64
	for i := 0; i < len(exp); i++ {
		n = n*10 + int64(exp[i]-'0')
	}
	return time.Unix(n, 0)
}
