package zones

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
)

// TestLookup carries over the plugin's t/network_zones.t and adds what it
// leaves open: single addresses, IPv6, mapped addresses, bad entries.
func TestLookup(t *testing.T) {
	m, err := Parse(map[string]string{
		"network_zones": "one, two, three,six",
		"zone_one":      "127.0.0.0/16",
		"zone_two":      "10.0.0.0/8, 172.16.0.0/16",
		"zone_three":    "10.1.0.0/16 192.168.7.7",
		"zone_six":      "fd00::/8",
	})
	if err != nil {
		t.Fatalf("Parse = %v, want no error", err)
	}
	tests := []struct {
		ip   string
		want string
	}{
		{"127.0.0.1", "one"},         // standard match
		{"10.0.0.1", "two"},          // outer netblock
		{"10.1.0.1", "three"},        // inner netblock: the longest prefix wins
		{"172.16.0.1", "two"},        // zone with several netblocks
		{"192.168.0.1", ""},          // unknown zone
		{"192.168.7.7", "three"},     // a bare address is a /32
		{"192.168.7.8", ""},          //
		{"fd12::1", "six"},           // IPv6
		{"::ffff:10.1.2.3", "three"}, // a v4-mapped client address
		{"not-an-ip", ""},
	}
	for _, tc := range tests {
		got, ok := m.LookupString(tc.ip)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("LookupString(%q) = %q, %v, want %q", tc.ip, got, ok, tc.want)
		}
	}
}

func TestParseProblems(t *testing.T) {
	m, err := Parse(map[string]string{
		"network_zones": "a,b,c",
		"zone_a":        "10.0.0.0/8, nonsense",
		"zone_b":        "10.0.0.0/8 10.2.0.0/16",
	})
	for _, want := range []error{ErrBadNet, ErrNoNets, ErrDuplicateNet} {
		if !errors.Is(err, want) {
			t.Errorf("Parse err = %v, want it to include %v", err, want)
		}
	}
	// The good entries still work; the first zone listed keeps a duplicate.
	for ip, want := range map[string]string{"10.1.1.1": "a", "10.2.1.1": "b"} {
		if got, _ := m.LookupString(ip); got != want {
			t.Errorf("LookupString(%q) = %q, want %q", ip, got, want)
		}
	}
}

func TestNoZones(t *testing.T) {
	for _, s := range []map[string]string{nil, {"network_zones": " , "}, {"zone_a": "10.0.0.0/8"}} {
		m, err := Parse(s)
		if m != nil || err != nil {
			t.Errorf("Parse(%v) = %v, %v, want nil, nil", s, m, err)
		}
		if z, ok := m.Lookup(netip.MustParseAddr("10.0.0.1")); ok {
			t.Errorf("nil Map: Lookup = %q, want no zone", z)
		}
	}
}

func TestParseNets(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  bool
	}{
		{"", nil, false},
		{"10.0.0.5/8", []string{"10.0.0.0/8"}, false},
		{"10.0.0.1,\t10.0.0.2  fd00::/8", []string{"10.0.0.1/32", "10.0.0.2/32", "fd00::/8"}, false},
		{"10.0.0.0/33", nil, true},
		{"10.0.0.0/8,x", []string{"10.0.0.0/8"}, true},
		{"fe80::1%eth0", nil, true},
	}
	for _, tc := range tests {
		got, err := ParseNets(tc.in)
		var gs []string
		for _, p := range got {
			gs = append(gs, p.String())
		}
		if !slices.Equal(gs, tc.want) || (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrBadNet)) {
			t.Errorf("ParseNets(%q) = %v, %v, want %v (error %v)", tc.in, gs, err, tc.want, tc.err)
		}
	}
}

func FuzzParseNets(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "1.2.3.4 fd00::/8", "::ffff:1.2.3.0/120", "x,,/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pfxs, _ := ParseNets(s)
		for _, p := range pfxs {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("ParseNets(%q) gave %v, not a valid masked prefix", s, p)
			}
			// Round trip: what we print parses to itself.
			q, err := ParseNets(p.String())
			if err != nil || len(q) != 1 || q[0] != p {
				t.Fatalf("ParseNets(%q) = %v, %v, want [%v]", p.String(), q, err, p)
			}
		}
	})
}
