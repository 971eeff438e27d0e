package protocol

import (
	"bufio"
	"errors"
	"strings"
	"testing"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"http://10.0.0.1:7500/dev1/0/000/000/0000000123.fid", "http://10.0.0.1:7500/dev1/0/000/000/0000000123.fid"},
		{"my key/with spaces&=+%?#~é", "my+key/with+spaces%26%3D%2B%25%3F%23%7E%C3%A9"},
		{"Target key name already exists; can't overwrite.", "Target+key+name+already+exists%3B+can%27t+overwrite."},
		{"/proto/test key+ü.txt", "/proto/test+key%2B%C3%BC.txt"},
		{"", ""},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("Escape(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if got := Unescape(tc.want); got != tc.in {
			t.Errorf("Unescape(%q) = %q, want %q", tc.want, got, tc.in)
		}
	}
}

func TestUnescapeGeneric(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a%20b", "a b"},
		{"http%3a%2f%2fx", "http://x"},
		{"100%", "100%"},
		{"%zz", "%zz"},
		{"%4", "%4"},
	} {
		if got := Unescape(tc.in); got != tc.want {
			t.Errorf("Unescape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeArgsQuirks(t *testing.T) {
	got := DecodeArgs("a=1&&0&b&c=x=y&a=2&d=%2Fp+q")
	want := map[string]string{"a": "1\x002", "b": "", "c": "x", "d": "/p q"}
	if len(got) != len(want) {
		t.Fatalf("DecodeArgs = %q, want %q", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("DecodeArgs[%q] = %q, want %q", k, got[k], v)
		}
	}
}

func TestParseRequest(t *testing.T) {
	for _, tc := range []struct {
		line string
		cmd  string
		args map[string]string
		err  error
	}{
		{"noop ", "noop", map[string]string{}, nil},
		{"GET_PATHS domain=d&key=k", "get_paths", map[string]string{"domain": "d", "key": "k"}, nil},
		{"list_keys domain=", "list_keys", map[string]string{"domain": ""}, nil},
		{"   ", "", nil, ErrEmptyLine},
		{"-bad x", "", nil, ErrMalformed},
		{"get-paths x", "", nil, ErrMalformed},
		{"!version", "!version", map[string]string{"": ""}, nil},
	} {
		r, err := ParseRequest(tc.line)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("ParseRequest(%q) err = %v, want %v", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil || r.Cmd != tc.cmd || len(r.Args) != len(tc.args) {
			t.Errorf("ParseRequest(%q) = %+v, %v; want cmd %q args %v", tc.line, r, err, tc.cmd, tc.args)
			continue
		}
		for k, v := range tc.args {
			if r.Args[k] != v {
				t.Errorf("ParseRequest(%q).Args[%q] = %q, want %q", tc.line, k, r.Args[k], v)
			}
		}
	}
}

func TestResponses(t *testing.T) {
	if got := FormatOK(nil); got != "OK \r\n" {
		t.Errorf("FormatOK(nil) = %q, want %q", got, "OK \r\n")
	}
	if got := FormatErr(Err("no_domain")); got != "ERR no_domain No+domain+provided\r\n" {
		t.Errorf("FormatErr = %q", got)
	}
	if got := FormatErr(Err("unknown_key")); got != "ERR unknown_key unknown_key\r\n" {
		t.Errorf("FormatErr = %q", got)
	}
	args, err := ParseResponse("OK paths=1&path1=http://127.0.0.3:7500/dev4/0/000/000/0000000002.fid")
	if err != nil || args["paths"] != "1" || args["path1"] != "http://127.0.0.3:7500/dev4/0/000/000/0000000002.fid" {
		t.Errorf("ParseResponse = %v, %v", args, err)
	}
	if args, err := ParseResponse("OK 12 a=b"); err != nil || args["a"] != "b" {
		t.Errorf("ParseResponse legacy length = %v, %v", args, err)
	}
	_, err = ParseResponse("ERR none_match No+keys+match+that+pattern+and+after-value+%28if+any%29.")
	var pe *Error
	if !errors.As(err, &pe) || pe.Code != "none_match" || pe.Message != "No keys match that pattern and after-value (if any)." {
		t.Errorf("ParseResponse ERR = %#v", err)
	}
	if !IsCode(err, "none_match") || !errors.Is(err, &Error{Code: "none_match"}) {
		t.Errorf("IsCode/Is failed for %v", err)
	}
	if _, err := ParseResponse("HELLO"); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseResponse(HELLO) = %v", err)
	}
}

func TestReadLine(t *testing.T) {
	long := strings.Repeat("x", 100)
	r := bufio.NewReaderSize(strings.NewReader("a\r\nb\n"+long+"\nc\n"), 16)
	for _, want := range []string{"a", "b", "", "c"} {
		got, err := ReadLine(r, 50)
		if want == "" {
			if !errors.Is(err, ErrLineTooLong) {
				t.Fatalf("ReadLine long = %q, %v; want ErrLineTooLong", got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Fatalf("ReadLine = %q, %v; want %q", got, err, want)
		}
	}
}

func FuzzDecodeArgs(f *testing.F) {
	for _, s := range []string{"a=1&b=2", "k=%2Fx+y&&0", "%", "a=%zz", "domain=d&key=%F0%9F%98%80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args := DecodeArgs(s)
		// Round trip: what we encode, we decode back (for NUL-free values).
		for k, v := range args {
			if strings.ContainsRune(v, 0) || k == "" || k == "0" {
				return
			}
		}
		back := DecodeArgs(EncodeArgs(args))
		for k, v := range args {
			if back[k] != v {
				t.Fatalf("round trip %q: %q -> %q", s, v, back[k])
			}
		}
	})
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"noop ", "get_paths domain=d&key=k", "!version", "", "x y z", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRequest(s)
		if err == nil && r.Cmd == "" {
			t.Fatalf("ParseRequest(%q) ok with empty command", s)
		}
	})
}

func FuzzParseResponse(f *testing.F) {
	for _, s := range []string{"OK ", "OK a=b", "ERR x y", "ERR", "OK 5 a=b c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		args, err := ParseResponse(s)
		if err == nil && args == nil {
			t.Fatalf("ParseResponse(%q) = nil, nil", s)
		}
	})
}

func BenchmarkEncodeDecode(b *testing.B) {
	args := map[string]string{"domain": "testdom", "key": "/photos/2024/a b.jpg", "noverify": "1"}
	b.ReportAllocs()
	for b.Loop() {
		_ = DecodeArgs(EncodeArgs(args))
	}
}
