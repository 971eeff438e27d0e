package jobs

import (
	"testing"

	"mogfs/trackerd/monitor"
)

func TestCameBack(t *testing.T) {
	snap := func(reach map[int]bool) *monitor.Snapshot { return &monitor.Snapshot{HostReachable: reach} }
	for _, tc := range []struct {
		name      string
		prev, cur map[int]bool
		want      int
	}{
		{"nothing changed", map[int]bool{1: true, 2: false}, map[int]bool{1: true, 2: false}, 0},
		{"one back", map[int]bool{1: true, 2: false}, map[int]bool{1: true, 2: true}, 2},
		{"one gone", map[int]bool{1: true, 2: true}, map[int]bool{1: true, 2: false}, 0},
		{"new host", map[int]bool{1: true}, map[int]bool{1: true, 3: true}, 0},
		{"first round", nil, map[int]bool{1: true}, 0},
	} {
		if got := cameBack(snap(tc.prev), snap(tc.cur)); got != tc.want {
			t.Errorf("%s: cameBack(%v, %v) = %d, want %d", tc.name, tc.prev, tc.cur, got, tc.want)
		}
	}
}
