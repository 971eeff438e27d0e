package dbstats

import (
	"context"
	"fmt"
	"io"

	"mogfs/trackerd/meta"
)

// classKey names a class as the report does: by domain and class name.
type classKey struct{ domain, class string }

// deviceFiles is one line of the devices statistic.
type deviceFiles struct {
	devid        int
	host, status string // "" when the device or its host has no row
	files        int64
}

// report is everything collected, keyed by names as the original keys its
// hashes (two classes that map to one name, say two unknown classids, are
// summed where the original would keep only one).
type report struct {
	want    stats
	devices []deviceFiles // by devid
	maxFID  int64
	files   map[classKey]*meta.ClassFiles // Files, Bytes, Stored
	domains map[classKey]int64
	repl    map[classKey]map[int]int64 // devcount -> files
	replQ   map[string]int64           // status -> rows
	delQ    map[string]int64
	general map[string]map[string]int64 // queue -> status -> rows
}

// collector runs the queries of the statistics asked for, in the
// original's order, with a note on verbose (nil: none) around each.
type collector struct {
	st      Store
	want    stats
	verbose io.Writer
	domain  map[int]string      // dmid -> namespace
	class   map[[2]int]string   // (dmid, classid) -> classname
	device  map[int]meta.Device // devid -> row
	host    map[int]string      // hostid -> hostname
}

func (c *collector) note(s string) {
	if c.verbose != nil {
		fmt.Fprintln(c.verbose, s)
	}
}

func (c *collector) collect(ctx context.Context) (*report, error) {
	if err := c.loadNames(ctx); err != nil {
		return nil, err
	}
	r := &report{want: c.want}
	steps := []struct {
		stat, note string
		run        func(context.Context, *report) error
	}{
		{"replication", "replication stats", c.replication},
		{"replication-queue", "replication queue stats", c.replicationQueue},
		{"delete-queue", "delete queue stats", c.deleteQueue},
		{"files", "files stats", c.files},
		{"domains", "domains stats", c.domains},
		{"devices", "per-device stats", c.devices},
		{"fids", "fid stats", c.fids},
		{"general-queues", "queue stats", c.generalQueues},
	}
	for _, s := range steps {
		if !c.want[s.stat] {
			continue
		}
		c.note("... " + s.note + "...")
		if err := s.run(ctx, r); err != nil {
			return nil, err
		}
		c.note("... done")
	}
	return r, nil
}

// loadNames reads the domains, classes, devices and hosts that every
// statistic names its rows by.
func (c *collector) loadNames(ctx context.Context) error {
	doms, err := c.st.Domains(ctx)
	if err != nil {
		return err
	}
	classes, err := c.st.Classes(ctx)
	if err != nil {
		return err
	}
	devs, err := c.st.Devices(ctx)
	if err != nil {
		return err
	}
	hosts, err := c.st.Hosts(ctx)
	if err != nil {
		return err
	}
	c.domain, c.class = map[int]string{}, map[[2]int]string{}
	for _, d := range doms {
		c.domain[d.ID] = d.Name
		c.class[[2]int{d.ID, 0}] = "default"
	}
	for _, cl := range classes {
		if _, ok := c.domain[cl.DomainID]; ok && cl.ID != 0 {
			c.class[[2]int{cl.DomainID, cl.ID}] = cl.Name
		}
	}
	c.device, c.host = map[int]meta.Device{}, map[int]string{}
	for _, d := range devs {
		c.device[d.ID] = d
	}
	for _, h := range hosts {
		c.host[h.ID] = h.Name
	}
	return nil
}

// nameOf is a class's domain and class names; "" for either without a row.
func (c *collector) nameOf(dmid, classid int) classKey {
	return classKey{c.domain[dmid], c.class[[2]int{dmid, classid}]}
}

func (c *collector) replication(ctx context.Context, r *report) error {
	rows, err := c.st.FilesByDevCount(ctx)
	if err != nil {
		return err
	}
	r.repl = map[classKey]map[int]int64{}
	for _, row := range rows {
		k := c.nameOf(row.DomainID, row.ClassID)
		if r.repl[k] == nil {
			r.repl[k] = map[int]int64{}
		}
		r.repl[k][row.DevCount] += row.Files
	}
	return nil
}

func (c *collector) files(ctx context.Context, r *report) error {
	rows, err := c.st.FilesByClass(ctx, true)
	if err != nil {
		return err
	}
	r.files = map[classKey]*meta.ClassFiles{}
	for _, row := range rows {
		k := c.nameOf(row.DomainID, row.ClassID)
		if r.files[k] == nil {
			r.files[k] = &meta.ClassFiles{}
		}
		f := r.files[k]
		f.Files, f.Bytes, f.Stored = f.Files+row.Files, f.Bytes+row.Bytes, f.Stored+row.Stored
	}
	return nil
}

func (c *collector) domains(ctx context.Context, r *report) error {
	rows, err := c.st.FilesByClass(ctx, false)
	if err != nil {
		return err
	}
	r.domains = map[classKey]int64{}
	for _, row := range rows {
		r.domains[c.nameOf(row.DomainID, row.ClassID)] += row.Files
	}
	return nil
}

func (c *collector) devices(ctx context.Context, r *report) error {
	counts, err := c.st.FilesByDevice(ctx)
	if err != nil {
		return err
	}
	for devid, n := range counts {
		df := deviceFiles{devid: devid, files: n}
		if d, ok := c.device[devid]; ok {
			if host, ok := c.host[d.HostID]; ok { // the original joins device and host
				df.host, df.status = host, d.Status
			}
		}
		r.devices = append(r.devices, df)
	}
	return nil
}

func (c *collector) fids(ctx context.Context, r *report) error {
	var err error
	r.maxFID, err = c.st.MaxFID(ctx)
	return err
}
