package monitor

import (
	"slices"
	"testing"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/zones"
)

// predSnap builds a snapshot with one host and one device in the given admin
// and observed states.
func predSnap(hostStatus, devStatus, obs string, reachable bool, usage bool, total, used int64) *Snapshot {
	return &Snapshot{
		Hosts:         map[int]meta.Host{1: {ID: 1, Name: "h", IP: "127.0.0.1", HTTPPort: 7500, Status: hostStatus}},
		Devices:       map[int]meta.Device{1: {ID: 1, HostID: 1, Status: devStatus, HaveUsage: usage, MBTotal: total, MBUsed: used}},
		Dev:           map[int]DevObs{1: {State: obs}},
		HostReachable: map[int]bool{1: reachable},
		minFreeMB:     100,
	}
}

func TestPredicates(t *testing.T) {
	tests := []struct {
		host, dev, obs string
		reach          bool
		usage          bool
		total, used    int64
		// want: CanReadFrom, ShouldReadFrom, CanDeleteFrom, ShouldGetNewFiles, ShouldHaveFiles
		read, shouldRead, del, newFiles, has bool
	}{
		{"alive", "alive", StateWriteable, true, true, 1000, 100, true, true, true, true, true},
		{"alive", "alive", StateWriteable, true, false, 0, 0, true, true, true, true, true},
		{"alive", "alive", StateWriteable, true, true, 1000, 950, true, true, true, false, true}, // < min free
		{"alive", "alive", StateReadable, true, true, 1000, 100, true, true, true, false, true},
		{"alive", "alive", StateUnreachable, true, true, 1000, 100, true, false, true, false, true},
		{"alive", "alive", StateWriteable, false, true, 1000, 100, true, false, true, false, true},
		{"alive", "alive", "", true, true, 1000, 100, true, false, true, false, true},
		{"alive", "readonly", StateReadable, true, true, 1000, 100, true, true, false, false, true},
		{"alive", "drain", StateWriteable, true, true, 1000, 100, true, true, true, false, true},
		{"alive", "down", "", true, true, 1000, 100, false, false, false, false, true},
		{"alive", "dead", "", true, true, 1000, 100, false, false, false, false, false},
		{"readonly", "alive", StateWriteable, true, true, 1000, 100, true, true, false, false, true},
		{"down", "alive", StateWriteable, true, true, 1000, 100, false, false, false, false, true},
		{"dead", "alive", StateWriteable, true, true, 1000, 100, false, false, false, false, true},
	}
	for _, tc := range tests {
		s := predSnap(tc.host, tc.dev, tc.obs, tc.reach, tc.usage, tc.total, tc.used)
		got := [5]bool{s.CanReadFrom(1), s.ShouldReadFrom(1), s.CanDeleteFrom(1), s.ShouldGetNewFiles(1), s.ShouldHaveFiles(1)}
		want := [5]bool{tc.read, tc.shouldRead, tc.del, tc.newFiles, tc.has}
		if got != want {
			t.Errorf("host %s dev %s obs %q reach %v usage %v %d/%d: predicates = %v, want %v",
				tc.host, tc.dev, tc.obs, tc.reach, tc.usage, tc.used, tc.total, got, want)
		}
	}
	s := predSnap("alive", "alive", StateWriteable, true, true, 1000, 250)
	if got := s.PercentFree(1); got != 0.75 {
		t.Errorf("PercentFree = %v, want 0.75", got)
	}
	if got := s.MBFree(1); got != 750 {
		t.Errorf("MBFree = %v, want 750", got)
	}
	if s.HostPort(1) != "127.0.0.1:7500" || s.GetHostPort(1) != "127.0.0.1:7500" {
		t.Errorf("HostPort = %q GetHostPort = %q", s.HostPort(1), s.GetHostPort(1))
	}
	u := predSnap("alive", "alive", StateWriteable, true, false, 0, 0)
	if u.PercentFree(1) != 0 || u.MBFree(1) != -1 || u.PercentFree(99) != 0 || u.MBFree(99) != -1 {
		t.Errorf("unknown usage: PercentFree %v MBFree %v", u.PercentFree(1), u.MBFree(1))
	}
	if u.CanReadFrom(99) || u.ShouldHaveFiles(99) || u.ShouldGetNewFiles(99) || u.HostPort(99) != "" {
		t.Error("unknown device passes a predicate")
	}
}

func TestZoneFirst(t *testing.T) {
	zm, err := zones.Parse(map[string]string{"network_zones": "a,b", "zone_a": "10.1.0.0/16", "zone_b": "10.2.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	s := &Snapshot{
		Hosts: map[int]meta.Host{
			1: {ID: 1, IP: "10.1.0.1"}, 2: {ID: 2, IP: "10.2.0.1"}, 3: {ID: 3, IP: "192.168.0.1"},
		},
		Devices: map[int]meta.Device{
			11: {ID: 11, HostID: 1}, 12: {ID: 12, HostID: 1}, 21: {ID: 21, HostID: 2}, 31: {ID: 31, HostID: 3},
		},
		Zones: zm,
	}
	in := []int{21, 31, 11, 99, 12}
	tests := []struct {
		zone string
		want []int
	}{
		{"a", []int{11, 12, 21, 31, 99}},
		{"b", []int{21, 31, 11, 99, 12}},
		{"c", []int{21, 31, 11, 99, 12}},
		{"", []int{21, 31, 11, 99, 12}},
	}
	for _, tc := range tests {
		if got := s.ZoneFirst(in, tc.zone); !slices.Equal(got, tc.want) {
			t.Errorf("ZoneFirst(%v, %q) = %v, want %v", in, tc.zone, got, tc.want)
		}
	}
	if !slices.Equal(in, []int{21, 31, 11, 99, 12}) {
		t.Errorf("ZoneFirst modified its argument: %v", in)
	}
}
