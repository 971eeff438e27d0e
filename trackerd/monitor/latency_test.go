package monitor

import (
	"maps"
	"slices"
	"testing"
	"time"

	"mogfs/trackerd/meta"
)

func TestSlowHosts(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		lat  map[int]time.Duration
		want []int
	}{
		{"none", nil, nil},
		{"one host is never slow", map[int]time.Duration{1: time.Second}, nil},
		{"two, one far behind", map[int]time.Duration{1: ms, 2: 120 * ms}, []int{2}},
		{"three, one far behind", map[int]time.Duration{1: ms, 2: 2 * ms, 3: 90 * ms}, []int{3}},
		{"behind but under the floor", map[int]time.Duration{1: ms / 10, 2: ms / 10, 3: 20 * ms}, nil},
		{"all far away alike", map[int]time.Duration{1: 80 * ms, 2: 90 * ms, 3: 100 * ms}, nil},
		{"over the floor, under the factor", map[int]time.Duration{1: 30 * ms, 2: 30 * ms, 3: 100 * ms}, nil},
		{"two of four", map[int]time.Duration{1: ms, 2: ms, 3: 200 * ms, 4: 300 * ms}, []int{3, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := slices.Sorted(maps.Keys(slowHosts(tc.lat)))
			if !slices.Equal(got, tc.want) {
				t.Errorf("slowHosts(%v) = %v, want %v", tc.lat, got, tc.want)
			}
		})
	}
}

func TestSmoothLatency(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct{ prev, sample, want time.Duration }{
		{0, 10 * ms, 10 * ms},
		{10 * ms, 30 * ms, 20 * ms},
		{100 * ms, 0, 50 * ms},
	} {
		if got := smoothLatency(tc.prev, tc.sample); got != tc.want {
			t.Errorf("smoothLatency(%v, %v) = %v, want %v", tc.prev, tc.sample, got, tc.want)
		}
	}
}

func TestSlowLast(t *testing.T) {
	s := &Snapshot{
		Devices: map[int]meta.Device{1: {ID: 1, HostID: 10}, 2: {ID: 2, HostID: 20}, 3: {ID: 3, HostID: 30}, 4: {ID: 4, HostID: 20}},
		slow:    map[int]bool{20: true},
	}
	in := []int{2, 3, 4, 1}
	if got, want := s.SlowLast(in), []int{3, 1, 2, 4}; !slices.Equal(got, want) {
		t.Errorf("SlowLast(%v) = %v, want %v", in, got, want)
	}
	if !slices.Equal(in, []int{2, 3, 4, 1}) {
		t.Errorf("SlowLast modified its argument: %v", in)
	}
	if got := (&Snapshot{}).SlowLast(in); !slices.Equal(got, in) {
		t.Errorf("SlowLast without slow hosts = %v, want %v", got, in)
	}
	if !s.HostSlow(20) || s.HostSlow(10) {
		t.Errorf("HostSlow(20), HostSlow(10) = %v, %v; want true, false", s.HostSlow(20), s.HostSlow(10))
	}
}
