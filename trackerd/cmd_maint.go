package trackerd

import (
	"errors"
	"sort"
	"strconv"
	"strings"

	"mogfs/protocol"
	"mogfs/trackerd/jobs"
)

func (mc *maintCmds) cmdReplicateNow(r *request) (reply, error) {
	n, err := mc.store.ReplicateNow(r.ctx)
	if err != nil {
		return nil, dbErr("replicate now", err)
	}
	return reply{"count": strconv.FormatInt(n, 10)}, nil
}

// cmdClearCache reloads every cache, waits for a fresh monitor round, and
// echoes the request's arguments (MogileFS::Admin sends all=1).
func (mc *maintCmds) cmdClearCache(r *request) (reply, error) {
	mc.paths.clear()
	if err := mc.ns.reload(r.ctx); err != nil {
		return nil, dbErr("reload", err)
	}
	if err := mc.mon.Refresh(r.ctx); err != nil {
		return nil, dbErr("refresh", err)
	}
	if err := mc.mon.WaitRound(r.ctx); err != nil {
		return nil, err
	}
	out := reply{}
	for k, v := range r.args {
		if k != "callid" {
			out[k] = v
		}
	}
	return out, nil
}

func (mc *maintCmds) cmdDoMonitorRound(r *request) (reply, error) {
	if err := mc.mon.WaitRound(r.ctx); err != nil {
		return nil, err
	}
	return reply{}, nil
}

func fsckErr(op string, err error) error {
	switch {
	case errors.Is(err, jobs.ErrFsckRunning):
		return protocol.Err("fsck_running")
	case errors.Is(err, jobs.ErrRebalRunning):
		return protocol.Errf("rebal_running", "rebalance running; cannot run fsck at same time")
	}
	return dbErr(op, err)
}

func (mc *maintCmds) cmdFsckStart(r *request) (reply, error) {
	if err := mc.jobs.Fsck.Start(r.ctx); err != nil {
		return nil, fsckErr("fsck start", err)
	}
	return reply{}, nil
}

func (mc *maintCmds) cmdFsckStop(r *request) (reply, error) {
	if err := mc.jobs.Fsck.Stop(r.ctx); err != nil {
		return nil, fsckErr("fsck stop", err)
	}
	return reply{}, nil
}

func (mc *maintCmds) cmdFsckReset(r *request) (reply, error) {
	startpos, _ := r.int64Arg("startpos")
	if err := mc.jobs.Fsck.Reset(r.ctx, r.truthy("policy_only"), startpos); err != nil {
		return nil, fsckErr("fsck reset", err)
	}
	return reply{}, nil
}

func (mc *maintCmds) cmdFsckClearLog(r *request) (reply, error) {
	if err := mc.jobs.Fsck.ClearLog(r.ctx); err != nil {
		return nil, fsckErr("fsck clearlog", err)
	}
	return reply{}, nil
}

func (mc *maintCmds) cmdFsckGetLog(r *request) (reply, error) {
	after, _ := r.int64Arg("after_logid")
	rows, err := mc.jobs.Fsck.GetLog(r.ctx, after)
	if err != nil {
		return nil, fsckErr("fsck getlog", err)
	}
	out := reply{"row_count": strconv.Itoa(len(rows))}
	for i, e := range rows {
		p := "row_" + strconv.Itoa(i+1) + "_"
		out[p+"logid"] = strconv.FormatInt(e.LogID, 10)
		out[p+"utime"] = strconv.FormatInt(e.UTime.Unix(), 10)
		out[p+"evcode"] = e.EvCode
		if e.FID != 0 {
			out[p+"fid"] = strconv.FormatInt(e.FID, 10)
		}
		if e.DevID != 0 {
			out[p+"devid"] = strconv.Itoa(e.DevID)
		}
	}
	return out, nil
}

func (mc *maintCmds) cmdFsckStatus(r *request) (reply, error) {
	st, err := mc.jobs.Fsck.Status(r.ctx)
	if err != nil {
		return nil, fsckErr("fsck status", err)
	}
	return reply(st), nil
}

// Rebalance is answered from settings only: the policy is validated and
// stored, and start/stop/reset/status manage rebal_host and rebal_state as
// the original does, but no tracker injects rebalance work yet (drain
// devices with state "drain" plus the reaper instead).

// rebalKeys are the policy keys Rebalance.pm accepts.
var rebalKeys = map[string]bool{
	"from_all_devs": true, "from_hosts": true, "from_devices": true, "from_percent_used": true,
	"from_percent_free": true, "from_space_used": true, "from_space_free": true, "fid_age": true,
	"limit_type": true, "limit_by": true, "limit": true, "to_all_devs": true, "to_hosts": true,
	"to_devices": true, "to_percent_used": true, "to_percent_free": true, "to_space_used": true,
	"to_space_free": true, "not_to_hosts": true, "not_to_devices": true, "use_dest_devs": true,
	"leave_in_drain_mode": true,
}

// parseRebalPolicy splits "k=v k=v" and rejects unknown keys.
func parseRebalPolicy(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		if !rebalKeys[k] {
			return nil, protocol.Errf("bad_rebal_pol", "Unknown policy key: %s", k)
		}
		out[k] = v
	}
	return out, nil
}

func (mc *maintCmds) setting(r *request, k string) (string, error) {
	v, _, err := mc.store.Setting(r.ctx, k)
	if err != nil {
		return "", dbErr("setting", err)
	}
	return v, nil
}

func (mc *maintCmds) cmdRebalanceSetPolicy(r *request) (reply, error) {
	if h, err := mc.setting(r, "rebal_host"); err != nil {
		return nil, err
	} else if h != "" {
		return nil, protocol.Errf("no_set_rebal", "Cannot set policy while rebalance is running")
	}
	pol := r.get("policy")
	if _, err := parseRebalPolicy(pol); err != nil {
		return nil, err
	}
	for _, kv := range [][2]string{{"rebal_policy", pol}, {"rebal_state", ""}} {
		if err := mc.store.SetSetting(r.ctx, kv[0], kv[1]); err != nil {
			return nil, dbErr("set setting", err)
		}
	}
	return reply{}, nil
}

// rebalDevices evaluates a policy's source and destination devices.
func (mc *maintCmds) rebalDevices(pol map[string]string) (sdevs, ddevs []int) {
	snap := mc.mon.Snapshot()
	list := func(k string) map[string]bool {
		m := map[string]bool{}
		for _, v := range strings.Split(pol[k], ",") {
			if v = strings.TrimSpace(v); v != "" {
				m[v] = true
			}
		}
		return m
	}
	fromDevs, fromHosts := list("from_devices"), list("from_hosts")
	toDevs, toHosts := list("to_devices"), list("to_hosts")
	notDevs, notHosts := list("not_to_devices"), list("not_to_hosts")
	ids := make([]int, 0, len(snap.Devices))
	for id := range snap.Devices {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	src := map[int]bool{}
	for _, id := range ids {
		d := snap.Devices[id]
		ds, hs := strconv.Itoa(id), strconv.Itoa(d.HostID)
		if !snap.CanDeleteFrom(id) {
			continue
		}
		if len(fromDevs)+len(fromHosts) > 0 && !fromDevs[ds] && !fromHosts[hs] {
			continue
		}
		src[id] = true
		sdevs = append(sdevs, id)
	}
	for _, id := range ids {
		d := snap.Devices[id]
		ds, hs := strconv.Itoa(id), strconv.Itoa(d.HostID)
		if src[id] || !snap.ShouldGetNewFiles(id) || notDevs[ds] || notHosts[hs] {
			continue
		}
		if len(toDevs)+len(toHosts) > 0 && !toDevs[ds] && !toHosts[hs] {
			continue
		}
		ddevs = append(ddevs, id)
	}
	return sdevs, ddevs
}

func (mc *maintCmds) rebalPolicy(r *request) (map[string]string, error) {
	s, err := mc.setting(r, "rebal_policy")
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, protocol.Err("no_rebal_policy")
	}
	return parseRebalPolicy(s)
}

func (mc *maintCmds) cmdRebalanceTest(r *request) (reply, error) {
	pol, err := mc.rebalPolicy(r)
	if err != nil {
		return nil, err
	}
	s, d := mc.rebalDevices(pol)
	return reply{"sdevs": joinInts(s), "ddevs": joinInts(d)}, nil
}

func (mc *maintCmds) cmdRebalanceStart(r *request) (reply, error) {
	if h, err := mc.setting(r, "rebal_host"); err != nil {
		return nil, err
	} else if h != "" {
		return nil, protocol.Errf("rebal_running", "rebalance is already running")
	}
	if h, err := mc.setting(r, "fsck_host"); err != nil {
		return nil, err
	} else if h != "" {
		return nil, protocol.Errf("fsck_running", "fsck running; cannot run rebalance at same time")
	}
	pol, err := mc.rebalPolicy(r)
	if err != nil {
		return nil, err
	}
	state, err := mc.setting(r, "rebal_state")
	if err != nil {
		return nil, err
	}
	if state == "" {
		s, _ := mc.rebalDevices(pol)
		now, err := mc.store.Now(r.ctx)
		if err != nil {
			return nil, dbErr("now", err)
		}
		state = "completed_devs= source_devs=" + joinInts(s) + " sdev_current=0 sdev_lastfid=0 sdev_limit=0 limit=0" +
			" fids_queued=0 bytes_queued=0 time_started=" + strconv.FormatInt(now.Unix(), 10) +
			" time_finished=0 time_stopped=0 time_latest_run=0 time_latest_empty_run=0 empty_runs=0"
	}
	for _, kv := range [][2]string{{"rebal_state", state}, {"rebal_signal", ""}, {"rebal_host", mc.hostname}} {
		if err := mc.store.SetSetting(r.ctx, kv[0], kv[1]); err != nil {
			return nil, dbErr("set setting", err)
		}
	}
	return reply{"state": state}, nil
}

func (mc *maintCmds) cmdRebalanceStop(r *request) (reply, error) {
	h, err := mc.setting(r, "rebal_host")
	if err != nil {
		return nil, err
	}
	if h == "" {
		return nil, protocol.Err("rebal_not_started")
	}
	// Without an injector nobody would act on rebal_signal=stop, so we
	// also clear rebal_host ourselves.
	for _, kv := range [][2]string{{"rebal_signal", "stop"}, {"rebal_host", ""}} {
		if err := mc.store.SetSetting(r.ctx, kv[0], kv[1]); err != nil {
			return nil, dbErr("set setting", err)
		}
	}
	return reply{}, nil
}

func (mc *maintCmds) cmdRebalanceReset(r *request) (reply, error) {
	if h, err := mc.setting(r, "rebal_host"); err != nil {
		return nil, err
	} else if h != "" {
		return nil, protocol.Errf("rebal_running", "rebalance is running")
	}
	if err := mc.store.SetSetting(r.ctx, "rebal_state", ""); err != nil {
		return nil, dbErr("set setting", err)
	}
	return reply{}, nil
}

func (mc *maintCmds) cmdRebalanceStatus(r *request) (reply, error) {
	s, err := mc.setting(r, "rebal_state")
	if err != nil {
		return nil, err
	}
	if s == "" {
		return nil, protocol.Err("no_rebal_state")
	}
	return reply{"state": s}, nil
}
