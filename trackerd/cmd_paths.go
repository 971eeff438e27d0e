package trackerd

import (
	"strconv"

	"mogfs/protocol"
	"mogfs/trackerd/meta"
)

// utilWeight returns 102-util when the utilization is an integer string
// (Query.pm::sort_devs_by_utilization). stord, like mogstored, reports
// decimals ("3.50"), which fail that test, so in practice the device weight
// decides, as with the original.
func utilWeight(util string) (float64, bool) {
	if util == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(util); i++ {
		c := util[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
		if n > 1000 {
			return 0, false
		}
	}
	return float64(102 - n), true
}

func (fc *fileCmds) cmdGetPaths(r *request) (reply, error) {
	dom, err := fc.ns.checkDomain(r)
	if err != nil {
		return nil, err
	}
	key := r.get("key")
	if key == "" {
		return nil, protocol.Err("no_key")
	}
	// A cached lookup is used for noverify requests only: a verifying
	// client asked us to look at the nodes, and the HEAD costs far more
	// than the query anyway.
	noverify := r.truthy("noverify")
	var f meta.File
	var ids []int
	e, hit, gen := fc.paths.get(dom.ID, key)
	if hit && noverify {
		f.FID, f.Length, ids = e.fid, e.length, e.devids
	} else {
		var err error
		f, ids, err = fc.store.FileAndDevIDs(r.ctx, dom.ID, key)
		if err != nil {
			if isNotFound(err) {
				return nil, protocol.Err("unknown_key")
			}
			return nil, dbErr("file", err)
		}
		fc.paths.put(dom.ID, key, gen, pathEntry{fid: f.FID, length: f.Length, devids: ids})
	}
	pathcount := 2
	if n, ok := r.int64Arg("pathcount"); ok && n > 2 {
		pathcount = int(min(n, 1000))
	}
	zoneAlt := r.get("zone") == "alt"

	snap := fc.mon.Snapshot()
	if snap.Round == 0 {
		// A tracker that just started has not observed any device yet;
		// wait for the first round rather than answer from ignorance.
		if err := fc.mon.WaitRound(r.ctx); err != nil {
			return nil, err
		}
		snap = fc.mon.Snapshot()
	}
	items := make([]weighted, 0, len(ids))
	for _, id := range ids {
		w, ok := utilWeight(snap.Dev[id].Utilization)
		if !ok {
			w = float64(snap.Devices[id].Weight)
			if w == 0 {
				w = 100
			}
		}
		items = append(items, weighted{id, w})
	}
	order := ids
	if len(ids) > 1 {
		order = weightedShuffle(items)
	}
	// Slow hosts last (the monitor saw their probes answered far later
	// than the others'), then ZoneLocal: paths in the client's network
	// zone first, so a slow host in the client's zone still comes before
	// the other zones. This follows the path cache, which holds devices
	// and not an order, so clients in different zones share its entries.
	order = snap.ZoneFirst(snap.SlowLast(order), clientZone(snap, r.conn.ip))
	var paths, drain []string
	backup := ""
	verified := noverify
	for _, id := range order {
		url, ok := devURL(snap, id, f.FID, true, r.conn.ip, zoneAlt)
		if !ok {
			continue // device or host unknown to this tracker
		}
		if !snap.ShouldReadFrom(id) {
			backup = url
			continue
		}
		if !verified {
			size, err := fc.headSize(r.ctx, url)
			if err != nil || size != f.Length {
				continue
			}
			verified = true
		}
		if snap.Devices[id].Status == "drain" {
			drain = append(drain, url)
		} else {
			paths = append(paths, url)
		}
		if len(paths) >= pathcount {
			break
		}
	}
	paths = append(paths, drain...)
	if len(paths) > pathcount {
		paths = paths[:pathcount]
	}
	if len(paths) == 0 && backup != "" {
		paths = []string{backup}
	}
	out := make(reply, len(paths)+1)
	out["paths"] = strconv.Itoa(len(paths))
	for i, p := range paths {
		out["path"+strconv.Itoa(i+1)] = p
	}
	return out, nil
}
