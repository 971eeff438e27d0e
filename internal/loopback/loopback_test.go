package loopback

import (
	"net"
	"strings"
	"testing"
)

func TestPickDistinctAndFree(t *testing.T) {
	seen := map[string]bool{}
	for range 20 {
		ip, err := Pick(200, 10, 7500, 7501)
		if err != nil {
			t.Fatal(err)
		}
		if seen[ip] {
			t.Fatalf("Pick returned %s twice", ip)
		}
		seen[ip] = true
		if !strings.HasPrefix(ip, "127.2") {
			t.Fatalf("Pick(200, 10) = %s, want 127.200-209.x.x", ip)
		}
	}
	// A taken port makes the address unusable.
	l, err := net.Listen("tcp", "127.210.1.1:7500")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if free("127.210.1.1", []int{7500}) {
		t.Error("free() = true for an address whose port is in use")
	}
}
