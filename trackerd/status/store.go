package status

import (
	"context"
	"fmt"
	"sync"
	"time"

	"mogfs/metrics"
	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/monitor"
)

// Store is what StoreSource reads from the metadata store; *meta.Store
// implements it.
type Store interface {
	Hosts(ctx context.Context) ([]meta.Host, error)
	Devices(ctx context.Context) ([]meta.Device, error)
	Domains(ctx context.Context) ([]meta.Domain, error)
	Classes(ctx context.Context) ([]meta.Class, error)
	QueueDepth(ctx context.Context, q meta.Queue) (int64, error)
	Counter
}

// Counter counts files; StoreSource calls it at most once per CountEvery.
type Counter interface {
	CountFiles(ctx context.Context, dmid, classid int) (int64, error) // classid < 0: whole domain
	CountFileOn(ctx context.Context, devid int) (int64, error)
}

var _ Store = (*meta.Store)(nil)

// StoreSource is a Source over the metadata store and the monitor: admin
// state from the store, observed state and fresh usage from the monitor's
// snapshot, file counts cached for CountEvery. Set the fields before the
// first call and do not change them afterwards.
type StoreSource struct {
	Store   Store
	Monitor func() *monitor.Snapshot // nil: no observations shown
	Errors  *ErrorLog                // nil: no job errors shown
	Version string
	Started time.Time
	// DefaultMinDevCount is shown for a "default" class that has no row
	// (the tracker's default_mindevcount; 0 shows as 0).
	DefaultMinDevCount int
	// CountEvery is how long file counts are reused (default 30 s);
	// negative turns counting off and shows no counts.
	CountEvery time.Duration

	mu        sync.Mutex // guards the cached counts below
	countedAt time.Time
	domFiles  map[int]int64    // dmid -> files
	clsFiles  map[[2]int]int64 // (dmid, classid) -> files
	devFiles  map[int]int64    // devid -> copies
}

var _ Source = (*StoreSource)(nil)

// StatusSnapshot implements Source.
func (s *StoreSource) StatusSnapshot(ctx context.Context) (Snapshot, error) {
	hosts, err := s.Store.Hosts(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("status: %w", err)
	}
	devs, err := s.Store.Devices(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("status: %w", err)
	}
	doms, err := s.Store.Domains(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("status: %w", err)
	}
	classes, err := s.Store.Classes(ctx)
	if err != nil {
		return Snapshot{}, fmt.Errorf("status: %w", err)
	}
	var q Queues
	for _, e := range []struct {
		q   meta.Queue
		dst *int64
	}{{meta.QueueReplicate, &q.Replicate}, {meta.QueueDelete, &q.Delete}, {meta.QueueFSCK, &q.FSCK}, {meta.QueueRebalance, &q.Rebalance}} {
		if *e.dst, err = s.Store.QueueDepth(ctx, e.q); err != nil {
			return Snapshot{}, fmt.Errorf("status: %w", err)
		}
	}
	counts, err := s.counts(ctx, doms, classes, devs)
	if err != nil {
		return Snapshot{}, err
	}

	var mon *monitor.Snapshot
	if s.Monitor != nil {
		mon = s.Monitor()
	}
	snap := Snapshot{
		Tracker:   Tracker{Version: s.Version, Started: s.Started, Now: time.Now()},
		Queues:    q,
		JobErrors: s.Errors.Recent(),
	}
	if mon != nil {
		snap.Tracker.MonitorRound = mon.Round
	}
	names := map[int]string{}
	for _, h := range hosts {
		names[h.ID] = h.Name
		snap.Hosts = append(snap.Hosts, Host{
			ID: h.ID, Name: h.Name, IP: h.IP, HTTPPort: h.HTTPPort, Status: h.Status,
			Reachable: mon != nil && mon.HostReachable[h.ID],
		})
	}
	for _, d := range devs {
		dev := Device{
			DevID: d.ID, HostID: d.HostID, Host: names[d.HostID], Status: d.Status, Weight: d.Weight,
			HaveUsage: d.HaveUsage, MBTotal: d.MBTotal, MBUsed: d.MBUsed,
		}
		if mon != nil {
			// The monitor's copy carries the usage of its last probe,
			// fresher than the row it writes back every so often.
			if md, ok := mon.Devices[d.ID]; ok && md.HaveUsage {
				dev.HaveUsage, dev.MBTotal, dev.MBUsed = true, md.MBTotal, md.MBUsed
			}
			obs := mon.Dev[d.ID]
			dev.State = obs.State
			if u, ok := metrics.ParseUtilization(obs.Utilization); ok {
				dev.Utilization = &u
			}
		}
		if counts != nil {
			if n, ok := counts.devFiles[d.ID]; ok {
				dev.Files = &n
			}
		}
		snap.Devices = append(snap.Devices, dev)
	}
	byDomain := map[int][]meta.Class{}
	for _, c := range classes {
		byDomain[c.DomainID] = append(byDomain[c.DomainID], c)
	}
	for _, dm := range doms {
		dom := Domain{Name: dm.Name}
		cls := byDomain[dm.ID]
		hasDefault := false
		for _, c := range cls {
			hasDefault = hasDefault || c.ID == 0
		}
		if !hasDefault {
			cls = append([]meta.Class{{DomainID: dm.ID, ID: 0, Name: "default", MinDevCount: s.DefaultMinDevCount}}, cls...)
		}
		for _, c := range cls {
			sc := Class{Name: c.Name, MinDevCount: c.MinDevCount, ReplPolicy: c.ReplPolicy, HashType: nodeproto.HashName(c.HashType)}
			if sc.ReplPolicy == "" {
				sc.ReplPolicy = "MultipleHosts()"
			}
			if counts != nil {
				if n, ok := counts.clsFiles[[2]int{dm.ID, c.ID}]; ok {
					sc.Files = &n
				}
			}
			dom.Classes = append(dom.Classes, sc)
		}
		if counts != nil {
			if n, ok := counts.domFiles[dm.ID]; ok {
				dom.Files = &n
			}
		}
		snap.Domains = append(snap.Domains, dom)
	}
	return snap, nil
}

// fileCounts is one immutable set of counts.
type fileCounts struct {
	domFiles map[int]int64
	clsFiles map[[2]int]int64
	devFiles map[int]int64
}

// counts returns the cached counts, recounting when they are older than
// CountEvery; nil when counting is off. Concurrent page loads wait for one
// recount instead of running their own.
func (s *StoreSource) counts(ctx context.Context, doms []meta.Domain, classes []meta.Class, devs []meta.Device) (*fileCounts, error) {
	every := s.CountEvery
	if every < 0 {
		return nil, nil
	}
	if every == 0 {
		every = 30 * time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.domFiles != nil && time.Since(s.countedAt) < every {
		return &fileCounts{s.domFiles, s.clsFiles, s.devFiles}, nil
	}
	fc := fileCounts{domFiles: map[int]int64{}, clsFiles: map[[2]int]int64{}, devFiles: map[int]int64{}}
	for _, dm := range doms {
		n, err := s.Store.CountFiles(ctx, dm.ID, -1)
		if err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		fc.domFiles[dm.ID] = n
		ids := map[int]bool{0: true}
		for _, c := range classes {
			if c.DomainID == dm.ID {
				ids[c.ID] = true
			}
		}
		for id := range ids {
			var cn int64
			if n > 0 { // an empty domain has empty classes: skip their queries
				if cn, err = s.Store.CountFiles(ctx, dm.ID, id); err != nil {
					return nil, fmt.Errorf("status: %w", err)
				}
			}
			fc.clsFiles[[2]int{dm.ID, id}] = cn
		}
	}
	for _, d := range devs {
		n, err := s.Store.CountFileOn(ctx, d.ID)
		if err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		fc.devFiles[d.ID] = n
	}
	s.domFiles, s.clsFiles, s.devFiles, s.countedAt = fc.domFiles, fc.clsFiles, fc.devFiles, time.Now()
	return &fc, nil
}
