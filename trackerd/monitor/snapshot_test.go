package monitor

import (
	"testing"

	"mogfs/trackerd/meta"
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
