package nodeproto

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		in    string
		want  Request
		reply string // error reply, when parsing fails
	}{
		{"size /dev1/usage", Request{Cmd: CmdSize, URI: "/dev1/usage"}, ""},
		{"size /dev1/usage\r", Request{Cmd: CmdSize, URI: "/dev1/usage"}, ""},
		{"MD5 /dev1/0/000/000/0000000123.fid", Request{Cmd: CmdDigest, Alg: "MD5", URI: "/dev1/0/000/000/0000000123.fid"}, ""},
		{"MD5 /dev1/x fsck", Request{Cmd: CmdDigest, Alg: "MD5", URI: "/dev1/x", Reason: "fsck"}, ""},
		{"SHA-1 /dev1/x", Request{Cmd: CmdDigest, Alg: "SHA-1", URI: "/dev1/x"}, ""},
		{"watch", Request{Cmd: CmdWatch}, ""},
		{"WATCH\r", Request{Cmd: CmdWatch}, ""},
		{"", Request{Cmd: CmdEmpty}, ""},
		{"\r", Request{Cmd: CmdEmpty}, ""},
		{"md5 /dev1/x", Request{}, "ERROR: unknown command: md5"},
		{"size", Request{}, "ERROR: unknown command: size"},
		{"size /dev1/x extra", Request{}, "ERROR: unknown command: size"},
		{"MD5 /dev1/x bad-reason", Request{}, "ERROR: unknown command: MD5"},
		{"size /dev1/../etc/passwd", Request{}, "ERROR: uri invalid (contains ..)"},
		{"MD5 /dev1/.. fsck", Request{}, "ERROR: uri invalid (contains ..)"},
		{"frobnicate", Request{}, "ERROR: unknown command: frobnicate"},
	}
	for _, tc := range tests {
		got, err := ParseRequest(tc.in)
		if tc.reply != "" {
			if err == nil || err.Error() != tc.reply {
				t.Errorf("ParseRequest(%q) = %+v, %v, want error %q", tc.in, got, err, tc.reply)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRequest(%q) = %+v, %v, want %+v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{"size /dev1/usage", "MD5 /dev1/x fsck", "SHA-1 /dev1/x", "watch", "md5 x", "size /..", " ", "\r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		req, err := ParseRequest(in)
		if err != nil {
			if !errors.Is(err, ErrUnknown) && !errors.Is(err, ErrURIDotDot) {
				t.Fatalf("ParseRequest(%q) unexpected error %v", in, err)
			}
			return
		}
		// Round trip: an accepted request re-rendered parses the same.
		var line string
		switch req.Cmd {
		case CmdEmpty:
			return
		case CmdWatch:
			line = "watch"
		case CmdSize:
			line = "size " + req.URI
		case CmdDigest:
			line = req.Alg + " " + req.URI
			if req.Reason != "" {
				line += " " + req.Reason
			}
		}
		if strings.Contains(req.URI, "..") {
			t.Fatalf("ParseRequest(%q) accepted uri %q with ..", in, req.URI)
		}
		again, err := ParseRequest(line)
		if err != nil || again != req {
			t.Fatalf("ParseRequest(%q) = %+v; re-rendered %q parses to %+v, %v", in, req, line, again, err)
		}
	})
}

func TestParseWatchLine(t *testing.T) {
	block := map[int]string{}
	lines := []string{"1\t3.50\n", "2 -\r\n", "garbage\n", "x 1\n", "0 5\n", ".\n"}
	var done bool
	for _, l := range lines {
		var isErr bool
		done, isErr = ParseWatchLine(l, block)
		if isErr {
			t.Fatalf("ParseWatchLine(%q) isErr", l)
		}
	}
	if !done {
		t.Fatal("block terminator not seen")
	}
	if len(block) != 2 || block[1] != "3.50" || block[2] != "-" {
		t.Errorf("block = %v, want {1:3.50 2:-}", block)
	}
	if _, isErr := ParseWatchLine("ERR iostat unavailable\r\n", block); !isErr {
		t.Error("ERR line not reported")
	}
}

func FuzzParseWatchLine(f *testing.F) {
	f.Add("1\t3.50\n")
	f.Add(".\n")
	f.Add("ERR iostat unavailable\r\n")
	f.Fuzz(func(t *testing.T, line string) {
		block := map[int]string{}
		done, isErr := ParseWatchLine(line, block)
		if done && (isErr || len(block) != 0) {
			t.Fatalf("ParseWatchLine(%q) = done with err %v block %v", line, isErr, block)
		}
		for id := range block {
			if id <= 0 {
				t.Fatalf("ParseWatchLine(%q) stored devid %d", line, id)
			}
		}
	})
}

func TestDigestReply(t *testing.T) {
	const uri = "/dev1/0/000/000/0000000123.fid"
	sum := bytes.Repeat([]byte{0xab}, 16)
	if req := DigestRequest("MD5", uri, true); req != "MD5 "+uri+" fsck\r\n" {
		t.Errorf("DigestRequest = %q", req)
	}
	got, missing, err := ParseDigestReply(DigestReply(uri, "MD5", sum), uri)
	if err != nil || missing || !bytes.Equal(got, sum) {
		t.Errorf("digest round trip = %x, %v, %v", got, missing, err)
	}
	if _, missing, err := ParseDigestReply(DigestReply(uri, "SHA-1", nil), uri); err != nil || !missing {
		t.Errorf("missing file = %v, %v, want missing", missing, err)
	}
	for _, line := range []string{"/dev1/other MD5=" + strings.Repeat("ab", 16) + "\r\n", "ERR read failed\r\n", uri + " MD5=xyz\r\n", ""} {
		if _, _, err := ParseDigestReply(line, uri); !errors.Is(err, ErrBadReply) {
			t.Errorf("ParseDigestReply(%q) = %v, want ErrBadReply", line, err)
		}
	}
}

func FuzzParseDigestReply(f *testing.F) {
	f.Add("/dev1/x MD5="+strings.Repeat("0", 32)+"\r\n", "/dev1/x")
	f.Add("/dev1/x SHA-1=-1\n", "/dev1/x")
	f.Fuzz(func(t *testing.T, line, uri string) {
		sum, missing, err := ParseDigestReply(line, uri)
		switch {
		case err != nil:
			if !errors.Is(err, ErrBadReply) || sum != nil || missing {
				t.Fatalf("ParseDigestReply(%q) = %x, %v, %v", line, sum, missing, err)
			}
		case missing:
			if sum != nil {
				t.Fatalf("missing with a digest %x", sum)
			}
		case len(sum) < 16:
			t.Fatalf("ParseDigestReply(%q) = %x: shorter than any digest", line, sum)
		}
	})
}

func TestWatchLine(t *testing.T) {
	block := map[int]string{}
	for _, l := range []string{WatchLine(3, 12.5), WatchLine(4, 0)} {
		ParseWatchLine(l, block)
	}
	if done, _ := ParseWatchLine(WatchEnd, block); !done || block[3] != "12.50" || block[4] != "0.00" {
		t.Errorf("block = %v, done %v", block, done)
	}
}
