package stord

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMgmtLine(t *testing.T) {
	tests := []struct {
		in    string
		want  mgmtReq
		reply string // error reply, when parsing fails
	}{
		{"size /dev1/usage", mgmtReq{kind: mgmtSize, uri: "/dev1/usage"}, ""},
		{"size /dev1/usage\r", mgmtReq{kind: mgmtSize, uri: "/dev1/usage"}, ""},
		{"MD5 /dev1/0/000/000/0000000123.fid", mgmtReq{kind: mgmtDigest, alg: "MD5", uri: "/dev1/0/000/000/0000000123.fid"}, ""},
		{"MD5 /dev1/x fsck", mgmtReq{kind: mgmtDigest, alg: "MD5", uri: "/dev1/x", reason: "fsck"}, ""},
		{"SHA-1 /dev1/x", mgmtReq{kind: mgmtDigest, alg: "SHA-1", uri: "/dev1/x"}, ""},
		{"watch", mgmtReq{kind: mgmtWatch}, ""},
		{"WATCH\r", mgmtReq{kind: mgmtWatch}, ""},
		{"", mgmtReq{kind: mgmtEmpty}, ""},
		{"\r", mgmtReq{kind: mgmtEmpty}, ""},
		{"md5 /dev1/x", mgmtReq{}, "ERROR: unknown command: md5"},
		{"size", mgmtReq{}, "ERROR: unknown command: size"},
		{"size /dev1/x extra", mgmtReq{}, "ERROR: unknown command: size"},
		{"MD5 /dev1/x bad-reason", mgmtReq{}, "ERROR: unknown command: MD5"},
		{"size /dev1/../etc/passwd", mgmtReq{}, "ERROR: uri invalid (contains ..)"},
		{"MD5 /dev1/.. fsck", mgmtReq{}, "ERROR: uri invalid (contains ..)"},
		{"frobnicate", mgmtReq{}, "ERROR: unknown command: frobnicate"},
	}
	for _, tc := range tests {
		got, err := parseMgmtLine(tc.in)
		if tc.reply != "" {
			if err == nil || err.Error() != tc.reply {
				t.Errorf("parseMgmtLine(%q) = %+v, %v, want error %q", tc.in, got, err, tc.reply)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseMgmtLine(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseMgmtLine(f *testing.F) {
	for _, s := range []string{"size /dev1/usage", "MD5 /dev1/x fsck", "SHA-1 /dev1/x", "watch", "md5 x", "size /..", " ", "\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		req, err := parseMgmtLine(in)
		if err != nil {
			if !errors.Is(err, errUnknown) && !errors.Is(err, errURIDotDot) {
				t.Fatalf("parseMgmtLine(%q) unexpected error %v", in, err)
			}
			return
		}
		// Round trip: an accepted request re-rendered parses the same.
		var line string
		switch req.kind {
		case mgmtEmpty:
			return
		case mgmtWatch:
			line = "watch"
		case mgmtSize:
			line = "size " + req.uri
		case mgmtDigest:
			line = req.alg + " " + req.uri
			if req.reason != "" {
				line += " " + req.reason
			}
		}
		if strings.Contains(req.uri, "..") {
			t.Fatalf("parseMgmtLine(%q) accepted uri %q with ..", in, req.uri)
		}
		again, err := parseMgmtLine(line)
		if err != nil || again != req {
			t.Fatalf("parseMgmtLine(%q) = %+v; re-rendered %q parses to %+v, %v", in, req, line, again, err)
		}
	})
}
