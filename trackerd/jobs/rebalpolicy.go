package jobs

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"mogfs/trackerd/monitor"
)

// RebalPolicy is a parsed rebal_policy (MogileFS::Rebalance's policy keys).
// Thresholds are 0 when unset; percentages are 0..100 and spaces MB, as in
// the original.
type RebalPolicy struct {
	FromHosts, FromDevices                                         []int
	FromPercentUsed, FromPercentFree, FromSpaceUsed, FromSpaceFree float64
	ToHosts, ToDevices, NotToHosts, NotToDevices                   []int
	ToPercentUsed, ToPercentFree, ToSpaceUsed, ToSpaceFree         float64
	FIDAge                                                         string // old (ascending fids) | new
	LimitType                                                      string // device | global
	LimitBy                                                        string // none | size | count | percent
	Limit                                                          float64
	UseDestDevs                                                    int // 0: all
	LeaveInDrainMode                                               bool
	fromAllDevs, toAllDevs                                         string // accepted, unused (as in the original)
}

// ParseRebalPolicy parses the original's policy string: key=value pairs
// separated by white space, lists separated by commas. Unlike the original,
// which only refuses unknown keys and trips over bad values while running,
// every value is checked here; errors wrap ErrBadRebalPolicy.
func ParseRebalPolicy(s string) (RebalPolicy, error) {
	p := RebalPolicy{FIDAge: "old", LimitType: "device", LimitBy: "none", fromAllDevs: "1", toAllDevs: "1"}
	var limit string
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		var err error
		switch k {
		case "from_all_devs":
			p.fromAllDevs = v
		case "to_all_devs":
			p.toAllDevs = v
		case "from_hosts":
			p.FromHosts, err = idList(v)
		case "from_devices":
			p.FromDevices, err = idList(v)
		case "to_hosts":
			p.ToHosts, err = idList(v)
		case "to_devices":
			p.ToDevices, err = idList(v)
		case "not_to_hosts":
			p.NotToHosts, err = idList(v)
		case "not_to_devices":
			p.NotToDevices, err = idList(v)
		case "from_percent_used":
			p.FromPercentUsed, err = threshold(v)
		case "from_percent_free":
			p.FromPercentFree, err = threshold(v)
		case "from_space_used":
			p.FromSpaceUsed, err = threshold(v)
		case "from_space_free":
			p.FromSpaceFree, err = threshold(v)
		case "to_percent_used":
			p.ToPercentUsed, err = threshold(v)
		case "to_percent_free":
			p.ToPercentFree, err = threshold(v)
		case "to_space_used":
			p.ToSpaceUsed, err = threshold(v)
		case "to_space_free":
			p.ToSpaceFree, err = threshold(v)
		case "fid_age":
			p.FIDAge, err = oneOf(v, "old", "new")
		case "limit_type":
			p.LimitType, err = oneOf(v, "device", "global")
		case "limit_by":
			p.LimitBy, err = oneOf(v, "none", "size", "count", "percent")
		case "limit":
			limit = v
		case "use_dest_devs":
			if v != "all" {
				p.UseDestDevs, err = strconv.Atoi(v)
				if err == nil && p.UseDestDevs < 1 {
					err = fmt.Errorf("not all or a positive count")
				}
			}
		case "leave_in_drain_mode":
			p.LeaveInDrainMode = v != "" && v != "0"
		default:
			return RebalPolicy{}, fmt.Errorf("%w: Invalid setting %s", ErrBadRebalPolicy, k)
		}
		if err != nil {
			return RebalPolicy{}, fmt.Errorf("%w: %s=%s: %v", ErrBadRebalPolicy, k, v, err)
		}
	}
	if p.LimitBy != "none" {
		n, err := parseLimit(p.LimitBy, limit)
		if err != nil {
			return RebalPolicy{}, fmt.Errorf("%w: limit=%s with limit_by=%s: %v", ErrBadRebalPolicy, limit, p.LimitBy, err)
		}
		p.Limit = n
	}
	return p, nil
}

func idList(v string) ([]int, error) {
	var ids []int
	for _, s := range strings.Split(v, ",") {
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not an id", s)
		}
		ids = append(ids, n)
	}
	return ids, nil
}

func threshold(v string) (float64, error) {
	n, err := strconv.ParseFloat(v, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a non-negative number")
	}
	return n, nil
}

func oneOf(v string, allowed ...string) (string, error) {
	if slices.Contains(allowed, v) {
		return v, nil
	}
	return "", fmt.Errorf("not one of %s", strings.Join(allowed, ", "))
}

// parseLimit reads limit for its limit_by: bytes with an optional b, k, m,
// g, t or p suffix (powers of 1024, as _human_to_bytes), a file count, or a
// percentage (of the used space, with or without "%").
func parseLimit(by, v string) (float64, error) {
	switch by {
	case "count":
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("not a positive count")
		}
		return float64(n), nil
	case "percent":
		n, err := strconv.ParseFloat(strings.TrimSuffix(v, "%"), 64)
		if err != nil || n <= 0 || n > 100 {
			return 0, fmt.Errorf("not a percentage in (0, 100]")
		}
		return n, nil
	default: // size
		s := strings.ToLower(v)
		mult := 1.0
		if i := strings.IndexAny(s, "bkmgtp"); i >= 0 && i == len(s)-1 {
			for range strings.Index("bkmgtp", s[i:]) {
				mult *= 1024
			}
			s = s[:i]
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || n == 0 {
			return 0, fmt.Errorf("not a size such as 500m or 2g")
		}
		return float64(n) * mult, nil
	}
}

// sourceDevices is filter_source_devices: devices replicas may be deleted
// from that match the from_* keys, ascending.
func (p RebalPolicy) sourceDevices(snap *monitor.Snapshot) []int {
	var out []int
	for _, id := range sortedDevIDs(snap) {
		d := snap.Devices[id]
		if !snap.CanDeleteFrom(id) ||
			(len(p.FromDevices) > 0 && !slices.Contains(p.FromDevices, id)) ||
			(len(p.FromHosts) > 0 && !slices.Contains(p.FromHosts, d.HostID)) ||
			!usageMatches(snap, id, p.FromPercentUsed, p.FromPercentFree, p.FromSpaceUsed, p.FromSpaceFree) {
			continue
		}
		out = append(out, id)
	}
	return out
}

// destDevices is filter_dest_devices: devices that may get new files, are
// no source of this run (past, present or future) and match the to_* and
// not_to_* keys, ascending.
func (p RebalPolicy) destDevices(snap *monitor.Snapshot, st RebalState) []int {
	var out []int
	for _, id := range sortedDevIDs(snap) {
		d := snap.Devices[id]
		if id == st.SdevCurrent || slices.Contains(st.SourceDevs, id) || slices.Contains(st.CompletedDevs, id) ||
			!snap.ShouldGetNewFiles(id) ||
			(len(p.ToDevices) > 0 && !slices.Contains(p.ToDevices, id)) ||
			(len(p.ToHosts) > 0 && !slices.Contains(p.ToHosts, d.HostID)) ||
			slices.Contains(p.NotToDevices, id) || slices.Contains(p.NotToHosts, d.HostID) ||
			!usageMatches(snap, id, p.ToPercentUsed, p.ToPercentFree, p.ToSpaceUsed, p.ToSpaceFree) {
			continue
		}
		out = append(out, id)
	}
	return out
}

// usageMatches applies the "more than" thresholds (0: unset). A device
// without a known usage matches no threshold, as in the original.
func usageMatches(snap *monitor.Snapshot, id int, pctUsed, pctFree, mbUsed, mbFree float64) bool {
	if pctUsed+pctFree+mbUsed+mbFree == 0 {
		return true
	}
	d := snap.Devices[id]
	if !d.HaveUsage || d.MBTotal <= 0 {
		return false
	}
	used := float64(d.MBUsed)
	free := float64(d.MBTotal - d.MBUsed)
	total := float64(d.MBTotal)
	return (pctUsed == 0 || 100*used/total > pctUsed) &&
		(pctFree == 0 || 100*free/total > pctFree) &&
		(mbUsed == 0 || used > mbUsed) &&
		(mbFree == 0 || free > mbFree)
}

func sortedDevIDs(snap *monitor.Snapshot) []int {
	ids := make([]int, 0, len(snap.Devices))
	for id := range snap.Devices {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// RebalState is a run's progress as the original keeps it in rebal_state,
// so a run resumes on any tracker after a restart.
type RebalState struct {
	CompletedDevs, SourceDevs []int
	SdevCurrent               int
	SdevLastFID               int64
	// SdevLimit and Limit are what the device's and the run's limits have
	// left (files or bytes); SdevLimitNone marks a device without one.
	SdevLimit, Limit                             float64
	SdevLimitNone                                bool
	FIDsQueued, BytesQueued                      int64
	TimeStarted, TimeFinished, TimeStopped       int64
	TimeLatestRun, TimeLatestEmptyRun, EmptyRuns int64
}

// String formats the state as the original's save_state (key=value pairs,
// lists joined by commas), in the original's key order.
func (s RebalState) String() string {
	lim := strconv.FormatFloat(s.SdevLimit, 'f', -1, 64)
	if s.SdevLimitNone {
		lim = "none"
	}
	return strings.Join([]string{
		"completed_devs=" + joinIDs(s.CompletedDevs),
		"source_devs=" + joinIDs(s.SourceDevs),
		"sdev_current=" + strconv.Itoa(s.SdevCurrent),
		"sdev_lastfid=" + strconv.FormatInt(s.SdevLastFID, 10),
		"sdev_limit=" + lim,
		"limit=" + strconv.FormatFloat(s.Limit, 'f', -1, 64),
		"fids_queued=" + strconv.FormatInt(s.FIDsQueued, 10),
		"bytes_queued=" + strconv.FormatInt(s.BytesQueued, 10),
		"time_started=" + strconv.FormatInt(s.TimeStarted, 10),
		"time_finished=" + strconv.FormatInt(s.TimeFinished, 10),
		"time_stopped=" + strconv.FormatInt(s.TimeStopped, 10),
		"time_latest_run=" + strconv.FormatInt(s.TimeLatestRun, 10),
		"time_latest_empty_run=" + strconv.FormatInt(s.TimeLatestEmptyRun, 10),
		"empty_runs=" + strconv.FormatInt(s.EmptyRuns, 10),
	}, " ")
}

// ParseRebalState reads a saved state; keys it does not know are ignored
// and missing ones are zero, as load_state over the defaults.
func ParseRebalState(s string) (RebalState, error) {
	var st RebalState
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		var err error
		num := func(p *int64) { *p, err = strconv.ParseInt(orZero(v), 10, 64) }
		switch k {
		case "completed_devs":
			st.CompletedDevs, err = idList(v)
		case "source_devs":
			st.SourceDevs, err = idList(v)
		case "sdev_current":
			st.SdevCurrent, err = strconv.Atoi(orZero(v))
		case "sdev_lastfid":
			num(&st.SdevLastFID)
		case "sdev_limit":
			if v == "none" {
				st.SdevLimitNone = true
			} else {
				st.SdevLimit, err = strconv.ParseFloat(orZero(v), 64)
			}
		case "limit":
			st.Limit, err = strconv.ParseFloat(orZero(v), 64)
		case "fids_queued":
			num(&st.FIDsQueued)
		case "bytes_queued":
			num(&st.BytesQueued)
		case "time_started":
			num(&st.TimeStarted)
		case "time_finished":
			num(&st.TimeFinished)
		case "time_stopped":
			num(&st.TimeStopped)
		case "time_latest_run":
			num(&st.TimeLatestRun)
		case "time_latest_empty_run":
			num(&st.TimeLatestEmptyRun)
		case "empty_runs":
			num(&st.EmptyRuns)
		}
		if err != nil {
			return RebalState{}, fmt.Errorf("jobs: rebal_state %s=%s: %v", k, v, err)
		}
	}
	return st, nil
}

func orZero(v string) string {
	if v == "" {
		return "0"
	}
	return v
}

func joinIDs(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.Itoa(id)
	}
	return strings.Join(s, ",")
}
