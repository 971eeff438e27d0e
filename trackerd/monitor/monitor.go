package monitor

// Lock order: Monitor.mu, then watcher.mu (watch.go). Neither is held while
// doing I/O.

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"mogfs/nodeproto"
	"mogfs/trackerd/meta"
	"mogfs/trackerd/zones"
)

// usageWriteEvery is how stale a device's mb_asof must be before the monitor
// writes fresh usage (Monitor.pm's UPDATE_DB_EVERY).
const usageWriteEvery = 15 * time.Second

// slowFailure separates "connection refused" (device unreachable) from a
// timeout (host unreachable), as the original's 0.5 s rule.
const slowFailure = 500 * time.Millisecond

// maxParallelHosts bounds the hosts probed at once.
const maxParallelHosts = 20

// Config configures a Monitor. Zero fields take the original's defaults.
type Config struct {
	Store          Store
	Logger         *slog.Logger  // default: discard
	Interval       time.Duration // between rounds; default 2.5 s
	WriteTestEvery time.Duration // write test period per device; default 15 s
	StreamPort     int           // side channel port (mogstored_stream_port); default 7501, -1 disables
	ConnTimeout    time.Duration // every probe's timeout (conn_timeout); default 2 s
	MinFreeMB      int64         // min_free_space; default 100
	HTTPClient     *http.Client  // default: a client dialling with ConnTimeout
	// Signer signs every probe (usage, write test) for nodes that require
	// signed URLs; nil signs nothing.
	Signer *nodeproto.Signer
}

// Monitor probes storage nodes and publishes Snapshots. Build it with New,
// run it with Run.
type Monitor struct {
	cfg  Config
	log  *slog.Logger
	snap atomic.Pointer[Snapshot]
	kick chan struct{} // asks Run to start a round now (cap 1)

	mu       sync.Mutex // guards the fields below
	hosts    map[int]meta.Host
	devices  map[int]meta.Device
	obs      map[int]DevObs          // state and reject_bad_md5 (utilization comes from watchers)
	usage    map[int]nodeproto.Usage // latest parsed usage per device
	reach    map[int]bool            // host reachable in the last round
	latency  map[int]time.Duration   // smoothed usage-probe latency of reachable hosts (latency.go)
	started  uint64                  // rounds started
	done     uint64                  // rounds completed
	roundEnd chan struct{}           // closed and replaced when a round completes
	watchers map[string]*watcher
	zones    *zones.Map // from the network_zones and zone_<name> settings
	// zonesProblem is the last problem logged about the zone settings, so
	// that a bad setting is logged once and not every round.
	zonesProblem string
	// loads numbers the loads of the tables (hosts, devices, zones);
	// tablesLoad is the number of the load installed. See setTablesLocked.
	loads, tablesLoad uint64

	probeMu       sync.Mutex // guards lastWriteTest and mkcolDone (probes of several hosts run at once)
	lastWriteTest map[int]time.Time
	mkcolDone     map[int]bool

	lastUsageDB map[int]time.Time // owned by the round goroutine
}

// New returns a Monitor; it does nothing until Run is called. Until the first
// round completes Snapshot returns the (empty) state with Round 0.
func New(cfg Config) *Monitor {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 2500 * time.Millisecond
	}
	if cfg.WriteTestEvery <= 0 {
		cfg.WriteTestEvery = 15 * time.Second
	}
	if cfg.StreamPort == 0 {
		cfg.StreamPort = 7501
	}
	if cfg.ConnTimeout <= 0 {
		cfg.ConnTimeout = 2 * time.Second
	}
	if cfg.MinFreeMB == 0 {
		cfg.MinFreeMB = 100
	}
	if cfg.HTTPClient == nil {
		d := &net.Dialer{Timeout: cfg.ConnTimeout}
		cfg.HTTPClient = &http.Client{Transport: &http.Transport{
			DialContext:         d.DialContext,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     30 * time.Second,
			DisableCompression:  true,
		}}
	}
	cfg.HTTPClient = cfg.Signer.Client(cfg.HTTPClient)
	m := &Monitor{
		cfg:           cfg,
		log:           cfg.Logger.With("component", "monitor"),
		kick:          make(chan struct{}, 1),
		hosts:         map[int]meta.Host{},
		devices:       map[int]meta.Device{},
		obs:           map[int]DevObs{},
		usage:         map[int]nodeproto.Usage{},
		reach:         map[int]bool{},
		latency:       map[int]time.Duration{},
		roundEnd:      make(chan struct{}),
		watchers:      map[string]*watcher{},
		lastWriteTest: map[int]time.Time{},
		lastUsageDB:   map[int]time.Time{},
		mkcolDone:     map[int]bool{},
	}
	m.publishLocked()
	return m
}

// Snapshot returns the latest published state. It never blocks.
func (m *Monitor) Snapshot() *Snapshot { return m.snap.Load() }

// Run probes the nodes every Interval until ctx is done, then stops the
// side-channel watchers and returns ctx's error.
func (m *Monitor) Run(ctx context.Context) error {
	defer m.stopWatchers()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-m.kick:
		}
		m.round(ctx)
		t.Reset(m.cfg.Interval)
	}
}

// WaitRound asks for a round now and blocks until a round that started after
// the call has completed (clear_cache, do_monitor_round, create_open's
// "monitor has run" wait), or ctx is done.
func (m *Monitor) WaitRound(ctx context.Context) error {
	m.mu.Lock()
	target := m.started + 1
	m.mu.Unlock()
	select {
	case m.kick <- struct{}{}:
	default:
	}
	for {
		m.mu.Lock()
		done, ch := m.done, m.roundEnd
		m.mu.Unlock()
		if done >= target {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Refresh reloads hosts, devices and network zones from the store and
// publishes them with the current observations, without probing (after an
// admin change).
func (m *Monitor) Refresh(ctx context.Context) error {
	load := m.nextLoad()
	hosts, devs, err := m.load(ctx)
	if err != nil {
		return err
	}
	zm := m.loadZones(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.setTablesLocked(load, hosts, devs, zm)
	m.publishLocked()
	return nil
}

// nextLoad numbers a load of the tables, taken before it reads them.
func (m *Monitor) nextLoad() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loads++
	return m.loads
}

func (m *Monitor) load(ctx context.Context) (map[int]meta.Host, map[int]meta.Device, error) {
	hl, err := m.cfg.Store.Hosts(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("monitor: load hosts: %w", err)
	}
	dl, err := m.cfg.Store.Devices(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("monitor: load devices: %w", err)
	}
	hosts := make(map[int]meta.Host, len(hl))
	for _, h := range hl {
		hosts[h.ID] = h
	}
	devs := make(map[int]meta.Device, len(dl))
	for _, d := range dl {
		devs[d.ID] = d
	}
	return hosts, devs, nil
}

// loadZones parses the zone settings. When they cannot be read it keeps
// the zones it has; a problem in them is logged when it first appears.
func (m *Monitor) loadZones(ctx context.Context) *zones.Map {
	settings, err := m.cfg.Store.Settings(ctx)
	m.mu.Lock()
	if err != nil {
		zm := m.zones
		m.mu.Unlock()
		if ctx.Err() == nil {
			m.log.Warn("reload of the zone settings failed, keeping the previous zones", "err", err)
		}
		return zm
	}
	zm, perr := zones.Parse(settings)
	problem := ""
	if perr != nil {
		problem = perr.Error()
	}
	changed := problem != m.zonesProblem
	m.zonesProblem = problem
	m.mu.Unlock()
	if changed && perr != nil {
		m.log.Warn("network zone settings", "err", perr)
	}
	return zm
}

// setTablesLocked installs the tables of load number load, unless a later
// load's are installed already.
//
// Race it prevents: a round loads the tables (no zones yet) and starts
// probing; set_server_setting stores network_zones and Refresh installs
// tables with the zones; the round ends and would install its older
// tables, so that until the next round the replicator and get_paths would
// see no zones (or, after create_device, no new device). The round's load
// was numbered before Refresh's, so its tables are dropped; its
// observations are still published.
func (m *Monitor) setTablesLocked(load uint64, hosts map[int]meta.Host, devs map[int]meta.Device, zm *zones.Map) {
	if load < m.tablesLoad {
		return
	}
	m.tablesLoad = load
	m.hosts, m.devices, m.zones = hosts, devs, zm
	for id := range m.obs {
		if _, ok := devs[id]; !ok {
			delete(m.obs, id)
			delete(m.usage, id)
		}
	}
}

// publishLocked builds a new Snapshot from the current state. m.mu held.
func (m *Monitor) publishLocked() {
	s := &Snapshot{
		Hosts:         make(map[int]meta.Host, len(m.hosts)),
		Devices:       make(map[int]meta.Device, len(m.devices)),
		Dev:           make(map[int]DevObs, len(m.devices)),
		HostReachable: make(map[int]bool, len(m.reach)),
		Round:         m.done,
		Zones:         m.zones,
		minFreeMB:     m.cfg.MinFreeMB,
	}
	for id, h := range m.hosts {
		s.Hosts[id] = h
	}
	for id, r := range m.reach {
		s.HostReachable[id] = r
	}
	s.HostLatency = make(map[int]time.Duration, len(m.latency))
	for id, l := range m.latency {
		s.HostLatency[id] = l
	}
	s.slow = slowHosts(s.HostLatency)
	if s.Zones != nil {
		// get_paths, create_open and the policies ask per device: parse
		// each host's address once here, not on every request.
		s.hostZone = make(map[int]string, len(s.Hosts))
		for id, h := range s.Hosts {
			s.hostZone[id], _ = s.Zones.LookupString(h.IP)
		}
	}
	// Utilization counts only from the node the device belongs to.
	util := map[int]string{}
	for id, d := range m.devices {
		h, ok := m.hosts[d.HostID]
		if !ok {
			continue
		}
		if w := m.watchers[net.JoinHostPort(h.IP, strconv.Itoa(m.cfg.StreamPort))]; w != nil {
			w.mu.Lock()
			if u, ok := w.util[id]; ok {
				util[id] = u
			}
			w.mu.Unlock()
		}
	}
	for id, d := range m.devices {
		if u, ok := m.usage[id]; ok {
			d.HaveUsage, d.MBTotal, d.MBUsed = true, u.MBTotal(), u.MBUsed()
			if u.Time > 0 {
				// As of the node's measurement, so that get_devices
				// prefers it to the database's copy, written at most
				// every usageWriteEvery: a device that fills up shows
				// full within a round there too.
				d.MBAsOf = time.Unix(u.Time, 0)
			}
		}
		s.Devices[id] = d
		o := m.obs[id]
		o.Utilization = util[id]
		s.Dev[id] = o
	}
	m.snap.Store(s)
}

// round runs one probe round: reload tables, probe every host, record usage,
// publish.
func (m *Monitor) round(ctx context.Context) {
	m.mu.Lock()
	m.started++
	m.mu.Unlock()

	load := m.nextLoad()
	hosts, devs, err := m.load(ctx)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("reload failed, probing the previous tables", "err", err)
		}
		m.mu.Lock()
		hosts, devs = m.hosts, m.devices
		m.mu.Unlock()
		load = 0 // nothing new to install
	}
	zm := m.loadZones(ctx)

	// Group the monitored devices by host.
	byHost := map[int][]meta.Device{}
	for _, d := range devs {
		h, ok := hosts[d.HostID]
		if ok && canReadFrom(h, d) {
			byHost[h.ID] = append(byHost[h.ID], d)
		}
	}
	m.syncWatchers(ctx, hosts)

	var (
		wg      sync.WaitGroup
		sem     = make(chan struct{}, maxParallelHosts)
		resMu   sync.Mutex // guards results
		results = map[int]hostResult{}
	)
	for hid, dl := range byHost {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			r := m.probeHost(ctx, hosts[hid], dl)
			resMu.Lock()
			results[hid] = r
			resMu.Unlock()
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}

	m.writeUsage(ctx, devs, results)

	m.mu.Lock()
	m.setTablesLocked(load, hosts, devs, zm)
	hosts, devs = m.hosts, m.devices // a Refresh's newer tables, if it installed some meanwhile
	m.reach = map[int]bool{}
	latency := map[int]time.Duration{} // hosts unreachable or gone lose their history
	for id := range m.obs {
		// Devices no longer monitored lose their observation.
		d := devs[id]
		if _, ok := byHost[d.HostID]; !ok || !canReadFrom(hosts[d.HostID], d) {
			delete(m.obs, id)
		}
	}
	for hid, r := range results {
		m.reach[hid] = r.reachable
		if r.reachable && r.latency > 0 {
			latency[hid] = smoothLatency(m.latency[hid], r.latency)
		}
		for id, o := range r.dev {
			m.obs[id] = o
		}
		for id, u := range r.usage {
			m.usage[id] = u
		}
	}
	m.latency = latency
	m.done++
	m.publishLocked()
	close(m.roundEnd)
	m.roundEnd = make(chan struct{})
	m.mu.Unlock()
}

// writeUsage stores fresh usage for devices whose mb_asof is older than
// usageWriteEvery, under "mgfs:device_update" so one tracker writes at a time.
func (m *Monitor) writeUsage(ctx context.Context, devs map[int]meta.Device, results map[int]hostResult) {
	now := time.Now()
	type upd struct {
		id int
		u  nodeproto.Usage
	}
	var todo []upd
	for _, r := range results {
		for id, u := range r.usage {
			d := devs[id]
			if now.Sub(m.lastUsageDB[id]) < usageWriteEvery ||
				(d.HaveUsage && now.Sub(d.MBAsOf) < usageWriteEvery) {
				continue
			}
			todo = append(todo, upd{id, u})
		}
	}
	if len(todo) == 0 {
		return
	}
	release, ok, err := m.cfg.Store.TryLock(ctx, "mgfs:device_update", 30*time.Second)
	if err != nil || !ok {
		if err != nil {
			m.log.Warn("device_update lock", "err", err)
		}
		return
	}
	defer release()
	for _, t := range todo {
		if err := m.cfg.Store.UpdateDeviceUsage(ctx, t.id, t.u.MBTotal(), t.u.MBUsed()); err != nil {
			m.log.Warn("update device usage", "devid", t.id, "err", err)
			continue
		}
		m.lastUsageDB[t.id] = now
	}
}
