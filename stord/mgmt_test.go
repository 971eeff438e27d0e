package stord_test

import (
	"bufio"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestMgmtCommands(t *testing.T) {
	n := startNode(t)
	data := []byte("side channel data")
	const p = "/dev1/0/000/000/0000000042.fid"
	if code, _, _ := n.do(t, "PUT", p, strings.NewReader(string(data))); code != 200 {
		t.Fatalf("PUT = %d", code)
	}
	md := md5.Sum(data)
	sh := sha1.Sum(data)

	c, err := net.Dial("tcp", n.mgmt)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	tests := []struct{ req, want string }{
		{"size " + p + "\r\n", p + " 17\r\n"},
		{"size " + p + "\n", p + " 17\r\n"},
		{"size /dev1/missing.fid\r\n", "/dev1/missing.fid -1\r\n"},
		{"MD5 " + p + "\r\n", p + " MD5=" + hex.EncodeToString(md[:]) + "\r\n"},
		{"MD5 " + p + " fsck\r\n", p + " MD5=" + hex.EncodeToString(md[:]) + "\r\n"},
		{"SHA-1 " + p + "\r\n", p + " SHA-1=" + hex.EncodeToString(sh[:]) + "\r\n"},
		{"MD5 /dev1/missing.fid\r\n", "/dev1/missing.fid MD5=-1\r\n"},
		{"MD5 /dev7/missing.fid\r\n", "/dev7/missing.fid MD5=-1\r\n"},
		{"MD5 /dev1/0/\r\n", "/dev1/0/ MD5=-1\r\n"},
		{"size /dev1/../dev2/x\r\n", "ERROR: uri invalid (contains ..)\r\n"},
		{"MD5 /dev1/../../etc/passwd\r\n", "ERROR: uri invalid (contains ..)\r\n"},
		{"md5 " + p + "\r\n", "ERROR: unknown command: md5\r\n"},
		{"\r\nfoo bar\r\n", "ERROR: unknown command: foo\r\n"}, // blank line: no reply
		{strings.Repeat("x", 20000) + "\n", "ERROR: line longer than 8192 bytes\r\n"},
		{"size " + p + "\r\n", p + " 17\r\n"}, // still usable after the long line
	}
	for _, tc := range tests {
		io.WriteString(c, tc.req)
		got, err := br.ReadString('\n')
		if err != nil || got != tc.want {
			t.Errorf("side channel %.40q = %q, %v, want %q", tc.req, got, err, tc.want)
		}
	}
	// Pipelined requests are answered in order.
	io.WriteString(c, "size "+p+"\nMD5 "+p+"\n")
	a, _ := br.ReadString('\n')
	b, _ := br.ReadString('\n')
	if a != p+" 17\r\n" || !strings.HasPrefix(b, p+" MD5=") {
		t.Errorf("pipelined replies = %q, %q", a, b)
	}
}

func TestMgmtWatch(t *testing.T) {
	n := startNode(t)
	c, err := net.Dial("tcp", n.mgmt)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "WATCH\r\n")
	br := bufio.NewReader(c)
	line := regexp.MustCompile(`^(\d+)\t(\d+\.\d\d)\n$`)
	for block := range 2 {
		var devs []string
		for {
			l, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("block %d: %v", block, err)
			}
			if l == ".\n" {
				break
			}
			m := line.FindStringSubmatch(l)
			if m == nil {
				t.Fatalf("block %d: line %q is not <devid>\\t<util>", block, l)
			}
			devs = append(devs, m[1])
		}
		if strings.Join(devs, ",") != "1,2" {
			t.Errorf("block %d devices = %v, want 1,2", block, devs)
		}
	}
	// Requests still work on a watching connection.
	io.WriteString(c, "size /dev1/nothing\n")
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(l, "/dev1/nothing") {
			if l != "/dev1/nothing -1\r\n" {
				t.Errorf("size on watching connection = %q", l)
			}
			break
		}
	}
}

func TestMgmtWatchDisabled(t *testing.T) {
	n := startNode(t, "--iostat", "0")
	c, err := net.Dial("tcp", n.mgmt)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "watch\n")
	if l, err := bufio.NewReader(c).ReadString('\n'); l != "ERR iostat unavailable\r\n" {
		t.Errorf("watch with iostat=0 = %q, %v", l, err)
	}
}
