package jobs

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"mogfs/trackerd/meta"
)

// Fsck holds the fsck control commands. Its state lives in server_settings
// (fsck_* keys) so every tracker sharing the database sees the same run.
type Fsck struct {
	store    Store
	hostname string
}

func (f *Fsck) setting(ctx context.Context, key string) (string, error) {
	v, _, err := f.store.Setting(ctx, key)
	return v, err
}

func (f *Fsck) intSetting(ctx context.Context, key string) (int64, error) {
	v, err := f.setting(ctx, key)
	if err != nil || v == "" {
		return 0, err
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return n, nil
}

func (f *Fsck) set(ctx context.Context, kv ...string) error {
	return setSettings(ctx, f.store, "fsck", kv...)
}

func (f *Fsck) dbNow(ctx context.Context) string { return strconv.FormatInt(dbNow(ctx, f.store), 10) }

// setSettings stores key, value pairs of the server settings that hold a
// control's state (fsck_*, rebal_*); what names the control in errors.
func setSettings(ctx context.Context, st Store, what string, kv ...string) error {
	for i := 0; i+1 < len(kv); i += 2 {
		if err := st.SetSetting(ctx, kv[i], kv[i+1]); err != nil {
			return fmt.Errorf("jobs: %s setting %s: %w", what, kv[i], err)
		}
	}
	return nil
}

// dbNow is the database's unix time (this host's if it cannot be read),
// the clock the original's state settings use.
func dbNow(ctx context.Context, st Store) int64 {
	t, err := st.Now(ctx)
	if err != nil {
		t = time.Now()
	}
	return t.Unix()
}

// Start begins (or resumes) fsck on this tracker (fsck_start): it fails with
// ErrFsckRunning or ErrRebalRunning, resets progress when the previous run
// completed or none ran, and sets fsck_host to this tracker's hostname.
func (f *Fsck) Start(ctx context.Context) error {
	if h, err := f.setting(ctx, "fsck_host"); err != nil {
		return err
	} else if h != "" {
		return ErrFsckRunning
	}
	if h, err := f.setting(ctx, "rebal_host"); err != nil {
		return err
	} else if h != "" {
		return ErrRebalRunning
	}
	checked, err := f.intSetting(ctx, "fsck_highest_fid_checked")
	if err != nil {
		return err
	}
	end, err := f.intSetting(ctx, "fsck_fid_at_end")
	if err != nil {
		return err
	}
	if (checked != 0 && end != 0 && checked >= end) || (end == 0 && checked == 0) {
		policyOnly, err := f.intSetting(ctx, "fsck_opt_policy_only")
		if err != nil {
			return err
		}
		if err := f.Reset(ctx, policyOnly != 0, 0); err != nil {
			return err
		}
	}
	start, err := f.setting(ctx, "fsck_highest_fid_checked")
	if err != nil {
		return err
	}
	if start == "" {
		start = "0"
	}
	return f.set(ctx,
		"fsck_start_time", f.dbNow(ctx),
		"fsck_stop_time", "",
		"fsck_fids_checked", "0",
		"fsck_start_fid", start,
		"fsck_host", f.hostname)
}

// Stop ends the run (fsck_stop): clears fsck_host and records the stop time.
// Rows already queued are still checked.
func (f *Fsck) Stop(ctx context.Context) error {
	return f.set(ctx, "fsck_host", "", "fsck_stop_time", f.dbNow(ctx))
}

// Reset rewinds progress (fsck_reset): policy-only mode, the fid to start
// after, the end fid (MAX(fid) now), cleared event sums and the log position.
func (f *Fsck) Reset(ctx context.Context, policyOnly bool, startpos int64) error {
	po := ""
	if policyOnly {
		po = "1"
	}
	maxFID, err := f.store.MaxFID(ctx)
	if err != nil {
		return err
	}
	settings, err := f.store.Settings(ctx)
	if err != nil {
		return err
	}
	for k := range settings {
		if strings.HasPrefix(k, "fsck_sum_evcount_") {
			if err := f.set(ctx, k, ""); err != nil {
				return err
			}
		}
	}
	logid, err := f.store.MaxFsckLogID(ctx)
	if err != nil {
		return err
	}
	return f.set(ctx,
		"fsck_opt_policy_only", po,
		"fsck_highest_fid_checked", strconv.FormatInt(startpos, 10),
		"fsck_fid_at_end", strconv.FormatInt(maxFID, 10),
		"fsck_start_maxlogid", strconv.FormatInt(logid, 10),
		"fsck_logid_processed", strconv.FormatInt(logid, 10))
}

// ClearLog empties fsck_log (fsck_clearlog).
func (f *Fsck) ClearLog(ctx context.Context) error { return f.store.ClearFsckLog(ctx) }

// GetLog returns up to 100 fsck_log rows after afterLogID (fsck_getlog).
func (f *Fsck) GetLog(ctx context.Context, afterLogID int64) ([]meta.FsckLogEntry, error) {
	return f.store.FsckLog(ctx, afterLogID, 100)
}

// Status returns the fsck_status reply keys: running, host,
// max_fid_checked, policy_only, end_fid, start_time, stop_time,
// current_time, max_logid and num_<EVCODE> per summarized event code.
func (f *Fsck) Status(ctx context.Context) (map[string]string, error) {
	if err := f.summarize(ctx); err != nil {
		return nil, err
	}
	s, err := f.store.Settings(ctx)
	if err != nil {
		return nil, err
	}
	num := func(k string) string {
		n, _ := strconv.ParseInt(s[k], 10, 64)
		return strconv.FormatInt(n, 10)
	}
	running := "0"
	if s["fsck_host"] != "" {
		running = "1"
	}
	maxLog, err := f.store.MaxFsckLogID(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{
		"running":         running,
		"host":            s["fsck_host"],
		"max_fid_checked": num("fsck_highest_fid_checked"),
		"policy_only":     num("fsck_opt_policy_only"),
		"end_fid":         num("fsck_fid_at_end"),
		"start_time":      num("fsck_start_time"),
		"stop_time":       num("fsck_stop_time"),
		"current_time":    f.dbNow(ctx),
		"max_logid":       strconv.FormatInt(maxLog, 10),
	}
	for k, v := range s {
		if code, ok := strings.CutPrefix(k, "fsck_sum_evcount_"); ok {
			out["num_"+code] = v
		}
	}
	return out, nil
}

// summarize adds the fsck_log rows after fsck_logid_processed to the
// fsck_sum_evcount_<CODE> settings (Store.pm::fsck_log_summarize), one
// tracker at a time under mgfs:fscksum.
func (f *Fsck) summarize(ctx context.Context) error {
	release, ok, err := f.store.TryLock(ctx, "mgfs:fscksum", time.Minute)
	if err != nil || !ok {
		return err
	}
	defer release()
	after, err := f.intSetting(ctx, "fsck_logid_processed")
	if err != nil {
		return err
	}
	counts := map[string]int64{}
	last := after
	for {
		rows, err := f.store.FsckLog(ctx, last, 1000)
		if err != nil {
			return err
		}
		for _, r := range rows {
			counts[r.EvCode]++
			last = r.LogID
		}
		if len(rows) < 1000 {
			break
		}
	}
	if last == after {
		return nil
	}
	for code, n := range counts {
		old, err := f.intSetting(ctx, "fsck_sum_evcount_"+code)
		if err != nil {
			return err
		}
		if err := f.set(ctx, "fsck_sum_evcount_"+code, strconv.FormatInt(old+n, 10)); err != nil {
			return err
		}
	}
	return f.set(ctx, "fsck_logid_processed", strconv.FormatInt(last, 10))
}
