package cli

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"mogfs/client"
	"mogfs/protocol"
)

// check is mogadm check: each tracker, each host's HTTP server, the device
// table, and (mogfs extension) the tracker's queue depths.
func (a *adm) check(ctx context.Context) error {
	fmt.Fprintln(a.out, "Checking trackers...")
	var hosts []client.Host
	var devs []client.Device
	for _, addr := range a.c.Trackers() {
		fmt.Fprintf(a.out, "  %s ... ", addr)
		h, d, err := trackerState(ctx, addr)
		if err != nil {
			fmt.Fprintln(a.out, "REQUEST FAILURE (is the tracker up?)")
			continue
		}
		fmt.Fprintln(a.out, "OK")
		hosts, devs = h, d
	}
	if hosts == nil {
		return fmt.Errorf("unable to retrieve host information from tracker(s)")
	}
	fmt.Fprintln(a.out)

	fmt.Fprintln(a.out, "Checking hosts...")
	hc := &http.Client{Timeout: 2 * time.Second}
	up := map[int]bool{}
	for _, h := range hosts {
		fmt.Fprintf(a.out, "  [%2d] %s ... ", h.ID, h.Name)
		if h.Status != "alive" {
			fmt.Fprintf(a.out, "skipping; status = %s\n", h.Status)
			continue
		}
		// Any HTTP answer means the storage node is up.
		resp, err := hc.Get("http://" + h.IP + ":" + strconv.Itoa(h.HTTPPort) + "/")
		if err != nil {
			fmt.Fprintln(a.out, "REQUEST FAILURE")
			continue
		}
		resp.Body.Close()
		fmt.Fprintln(a.out, "OK")
		up[h.ID] = true
	}
	if len(up) == 0 {
		return fmt.Errorf("no devices found on tracker(s)")
	}
	fmt.Fprintln(a.out)

	fmt.Fprintln(a.out, "Checking devices...")
	fmt.Fprintf(a.out, "  %-4s %-12s %10s %10s %10s %7s  %-10s %5s\n", "host", "device", "size(G)", "used(G)", "free(G)", "use% ", "ob state", "I/O%")
	fmt.Fprintln(a.out, "  ---- ------------ ---------- ---------- ---------- ------ ---------- -----")
	var tTotal, tUsed float64
	for _, h := range hosts {
		if !up[h.ID] {
			continue
		}
		for _, d := range devs {
			if d.HostID != h.ID || d.Status == "dead" {
				continue
			}
			total, used := gib(d.MBTotal), gib(d.MBUsed)
			pct := 0.0
			if total > 0 {
				pct = used / total * 100
			}
			tTotal += total
			tUsed += used
			ob := d.ObservedState
			if ob == "" {
				ob = "?"
			}
			util, _ := strconv.ParseFloat(d.Utilization, 64)
			fmt.Fprintf(a.out, "  [%2d] %-12s %10.3f %10.3f %10.3f %6.2f%%  %-10s %5.1f\n",
				h.ID, "dev"+strconv.Itoa(d.ID), total, used, total-used, pct, ob, util)
		}
	}
	pct := 0.0
	if tTotal > 0 {
		pct = tUsed / tTotal * 100
	}
	fmt.Fprintln(a.out, "  ---- ------------ ---------- ---------- ---------- ------")
	fmt.Fprintf(a.out, "             total:%10.3f %10.3f %10.3f %6.2f%%\n", tTotal, tUsed, tTotal-tUsed, pct)

	// mogfs extension: queue depths. A stock tracker has no stats command.
	st, err := a.c.Stats(ctx)
	if err != nil {
		return nil
	}
	var queues []string
	for k := range st {
		if strings.HasPrefix(k, "queue_") {
			queues = append(queues, k)
		}
	}
	if len(queues) > 0 {
		sort.Strings(queues)
		fmt.Fprintln(a.out)
		fmt.Fprintln(a.out, "Checking queues...")
		for _, k := range queues {
			fmt.Fprintf(a.out, "  %-24s %10s\n", strings.TrimPrefix(k, "queue_"), st[k])
		}
	}
	return nil
}

// trackerState asks one tracker, alone, for hosts and devices.
func trackerState(ctx context.Context, addr string) ([]client.Host, []client.Device, error) {
	c, err := client.New(client.Config{Trackers: []string{addr}, Timeout: 5 * time.Second, Outage: -1}) // report a down tracker at once
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	hosts, err := c.Hosts(ctx)
	if err != nil {
		return nil, nil, err
	}
	devs, err := c.Devices(ctx)
	return hosts, devs, err
}

// stats prints the tracker's counters. MogileFS 2.x removed the stats
// command; mogfs brings it back as an extension, so against a stock tracker
// this prints the original's deprecation note.
func (a *adm) stats(ctx context.Context) error {
	st, err := a.c.Stats(ctx)
	if protocol.IsCode(err, "unknown_command") {
		return fmt.Errorf("'stats' was removed from MogileFS 2.x and this tracker does not have the mogfs extension; use mogstats")
	}
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(st))
	for k := range st {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintln(a.out, "Tracker statistics (mogfs extension):")
	for _, k := range keys {
		fmt.Fprintf(a.out, "  %-32s %s\n", k, st[k])
	}
	return nil
}

// fsckStatus prints fsck_status as the original does.
func (a *adm) fsckStatus(ctx context.Context) error {
	st, err := a.c.FsckStatus(ctx)
	if err != nil {
		return fmt.Errorf("can't get fsck status: %w", err)
	}
	known := map[string]bool{"current_time": true, "max_logid": true}
	get := func(k string) string { known[k] = true; return st[k] }
	num := func(k string) float64 { f, _ := strconv.ParseFloat(get(k), 64); return f }
	line := func(k, v string) { fmt.Fprintf(a.out, "%11s: %s\n", k, v) }
	fmt.Fprintln(a.out)
	host := get("host")
	if get("running") == "1" {
		line("Running", "Yes (on "+host+")")
	} else {
		line("Running", "No")
	}
	checked, end := num("max_fid_checked"), num("end_fid")
	ratio := 0.0
	if end > 0 {
		ratio = checked / end
	}
	line("Status", fmt.Sprintf("%s / %s (%.2f%%)", get("max_fid_checked"), get("end_fid"), 100*ratio))
	elapsed := 0.0
	if startT := num("start_time"); startT > 0 {
		stop := num("stop_time")
		if stop == 0 {
			stop = num("current_time")
		}
		elapsed = stop - startT
	}
	perSec, remain := 0.0, 0.0
	if elapsed > 0 {
		perSec = checked / elapsed
	}
	if perSec > 0 {
		remain = (end - checked) / perSec
	}
	line("Time", fmt.Sprintf("%s (%d fids/s; %s remain)", asTime(elapsed), int(perSec), asTime(remain)))
	if get("policy_only") == "1" {
		line("Check Type", "Repl policy only (skip file checks)")
	} else {
		line("Check Type", "Normal (check policy + files)")
	}
	var unk []string
	for k := range st {
		if !known[k] {
			unk = append(unk, k)
		}
	}
	if len(unk) > 0 {
		sort.Strings(unk)
		fmt.Fprintln(a.out)
		for _, k := range unk {
			line("["+k+"]", st[k])
		}
	}
	fmt.Fprintln(a.out)
	return nil
}

func asTime(s float64) string {
	if s < 60 {
		return strconv.Itoa(int(s)) + "s"
	}
	return strconv.Itoa(int(s/60)) + "m"
}

// fsckPrintLog prints the whole fsck log.
func (a *adm) fsckPrintLog(ctx context.Context) error {
	fmt.Fprintf(a.out, "%-20s %5s %13s %10s\n", "unixtime", "event", "fid", "devid")
	var after int64
	for {
		rows, err := a.c.FsckLog(ctx, after)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		for _, r := range rows {
			dev := "-"
			if r.DevID != 0 {
				dev = strconv.Itoa(r.DevID)
			}
			fmt.Fprintf(a.out, "%-20d %5s %13d %10s\n", r.UTime, r.EvCode, r.FID, dev)
			after = r.LogID
		}
	}
}
