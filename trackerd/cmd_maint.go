package trackerd

import (
	"errors"
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

// rebalErr maps the rebalance control's errors to the original's codes.
func rebalErr(op string, err error) error {
	switch {
	case errors.Is(err, jobs.ErrBadRebalPolicy):
		_, msg, _ := strings.Cut(err.Error(), jobs.ErrBadRebalPolicy.Error()+": ")
		return protocol.Errf("bad_rebal_pol", "%s", msg)
	case errors.Is(err, jobs.ErrNoSetRebal):
		return protocol.Errf("no_set_rebal", "cannot change rebalance policy while rebalance is running")
	case errors.Is(err, jobs.ErrNoRebalPolicy):
		return protocol.Err("no_rebal_policy")
	case errors.Is(err, jobs.ErrRebalAlready):
		return protocol.Errf("rebal_running", "rebalance is already running")
	case errors.Is(err, jobs.ErrRebalRunning):
		return protocol.Errf("rebal_running", "rebalance is running")
	case errors.Is(err, jobs.ErrFsckRunning):
		return protocol.Errf("fsck_running", "fsck running; cannot run rebalance at same time")
	case errors.Is(err, jobs.ErrRebalNotStarted):
		return protocol.Err("rebal_not_started")
	case errors.Is(err, jobs.ErrNoRebalState):
		return protocol.Err("no_rebal_state")
	}
	return dbErr(op, err)
}

func (mc *maintCmds) cmdRebalanceSetPolicy(r *request) (reply, error) {
	if err := mc.jobs.Rebalance.SetPolicy(r.ctx, r.get("policy")); err != nil {
		return nil, rebalErr("rebalance set policy", err)
	}
	return reply{}, nil
}

func (mc *maintCmds) cmdRebalanceTest(r *request) (reply, error) {
	s, d, err := mc.jobs.Rebalance.Test(r.ctx)
	if err != nil {
		return nil, rebalErr("rebalance test", err)
	}
	return reply{"sdevs": joinInts(s), "ddevs": joinInts(d)}, nil
}

func (mc *maintCmds) cmdRebalanceStart(r *request) (reply, error) {
	state, err := mc.jobs.Rebalance.Start(r.ctx)
	if err != nil {
		return nil, rebalErr("rebalance start", err)
	}
	return reply{"state": state}, nil
}

func (mc *maintCmds) cmdRebalanceStop(r *request) (reply, error) {
	if err := mc.jobs.Rebalance.Stop(r.ctx); err != nil {
		return nil, rebalErr("rebalance stop", err)
	}
	return reply{}, nil
}

func (mc *maintCmds) cmdRebalanceReset(r *request) (reply, error) {
	if err := mc.jobs.Rebalance.Reset(r.ctx); err != nil {
		return nil, rebalErr("rebalance reset", err)
	}
	return reply{}, nil
}

func (mc *maintCmds) cmdRebalanceStatus(r *request) (reply, error) {
	s, err := mc.jobs.Rebalance.Status(r.ctx)
	if err != nil {
		return nil, rebalErr("rebalance status", err)
	}
	return reply{"state": s}, nil
}
