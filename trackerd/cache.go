package trackerd

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"mogfs/trackerd/meta"
)

// nsCache holds domains, classes and server settings in memory so the hot
// commands never query them. It is an immutable snapshot swapped atomically.
//
// Race it prevents: the background loop starts a reload (reads the domain
// table), then a create_domain on this tracker commits and reloads
// synchronously, swapping in a snapshot with the new domain; the background
// reload then finishes and would swap in its older snapshot, hiding the new
// domain for a refresh period. Each reload takes a sequence number before it
// reads, and a snapshot is only installed if its number is higher than the
// installed one's.
type nsCache struct {
	store  *meta.Store
	defMin int // default_mindevcount for the implicit default class

	seq     atomic.Uint64
	mu      sync.Mutex // guards installing snap (the compare-and-swap on seq)
	current atomic.Pointer[nsSnap]
}

// nsSnap is one immutable view.
type nsSnap struct {
	seq      uint64
	domains  map[string]*domainInfo
	byID     map[int]*domainInfo
	settings map[string]string
}

// domainInfo is a domain with its classes, the implicit default included.
type domainInfo struct {
	meta.Domain
	classes map[string]meta.Class
	byID    map[int]meta.Class
	names   []string // class names, classid order (get_domains)
}

func newNSCache(store *meta.Store, defMin int) *nsCache {
	c := &nsCache{store: store, defMin: defMin}
	c.current.Store(&nsSnap{domains: map[string]*domainInfo{}, byID: map[int]*domainInfo{}, settings: map[string]string{}})
	return c
}

func (c *nsCache) snap() *nsSnap { return c.current.Load() }

// reload reads domains, classes and settings and installs them.
func (c *nsCache) reload(ctx context.Context) error {
	seq := c.seq.Add(1)
	doms, err := c.store.Domains(ctx)
	if err != nil {
		return err
	}
	classes, err := c.store.Classes(ctx)
	if err != nil {
		return err
	}
	settings, err := c.store.Settings(ctx)
	if err != nil {
		return err
	}
	s := &nsSnap{seq: seq, domains: make(map[string]*domainInfo, len(doms)), byID: make(map[int]*domainInfo, len(doms)), settings: settings}
	for _, d := range doms {
		di := &domainInfo{Domain: d, classes: map[string]meta.Class{}, byID: map[int]meta.Class{}}
		s.domains[d.Name] = di
		s.byID[d.ID] = di
	}
	for _, cl := range classes {
		di := s.byID[cl.DomainID]
		if di == nil {
			continue
		}
		di.classes[cl.Name] = cl
		di.byID[cl.ID] = cl
	}
	for _, di := range s.byID {
		if _, ok := di.byID[0]; !ok {
			def := meta.Class{DomainID: di.ID, ID: 0, Name: "default", MinDevCount: c.defMin}
			di.classes["default"] = def
			di.byID[0] = def
		}
		di.names = sortedClassNames(di.byID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.current.Load(); cur.seq < seq {
		c.current.Store(s)
	}
	return nil
}

func sortedClassNames(byID map[int]meta.Class) []string {
	ids := make([]int, 0, len(byID))
	for id := range byID {
		ids = append(ids, id)
	}
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	names := make([]string, len(ids))
	for i, id := range ids {
		names[i] = byID[id].Name
	}
	return names
}

// loop reloads every interval until ctx ends, so changes made by other
// trackers on the same database appear within one interval.
func (c *nsCache) loop(ctx context.Context, every time.Duration, log *slog.Logger) {
	tk := time.NewTicker(every)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if err := c.reload(ctx); err != nil && ctx.Err() == nil {
				log.Warn("reload domains/classes/settings failed", "err", err)
			}
		}
	}
}

// settingBool is a cached boolean server setting (stored as 0/1).
func (s *nsSnap) settingBool(k string) bool {
	v := s.settings[k]
	return v != "" && v != "0"
}

func sortStrings(s []string) { slices.Sort(s) }
