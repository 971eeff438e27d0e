package vfs

import (
	"context"
	"sync"
	"time"
)

// A create's inode number is the fid of its create_open, so a create
// waits for one: a round trip on the path of every new file. openPool
// keeps a few create_opens of each domain made ahead, so a create takes
// one at once and the pool makes the next in the background. The tracker
// ignores the key a create_open names (create_close says which key the
// fid becomes), and a create_open nobody takes is a temp row: Close
// abandons those (create_close with an empty key), the tracker reaps
// what a crash leaves.
type openPool struct {
	fs *FS

	mu    sync.Mutex
	ready map[string][]*PreOpen // by domain, oldest first
	busy  map[string]int        // create_opens in flight, by domain
	wg    sync.WaitGroup
}

// poolSize is how many create_opens a domain keeps ready: enough for a few
// writers, each creating one file after another.
const poolSize = 4

// poolMaxAge is how long a pooled create_open is offered: its
// destinations were chosen when it was made.
const poolMaxAge = 30 * time.Second

// take returns a create_open for a new file of domain: a pooled one if
// one is ready and fresh, else a new one; and tops the pool up.
func (p *openPool) take(domain, key string) *PreOpen {
	p.mu.Lock()
	var got *PreOpen
	var stale []*PreOpen
	q := p.ready[domain]
	for len(q) > 0 && got == nil {
		o := q[0]
		q = q[1:]
		if time.Since(o.at) < poolMaxAge && o.usable() {
			got = o
		} else {
			stale = append(stale, o)
		}
	}
	p.ready[domain] = q
	refill := poolSize - len(q) - p.busy[domain]
	p.busy[domain] += max(refill, 0)
	p.mu.Unlock()
	for range max(refill, 0) {
		p.wg.Go(func() {
			o := p.fs.startOpen(domain, key)
			<-o.done
			p.mu.Lock()
			p.busy[domain]--
			if o.err == nil {
				p.ready[domain] = append(p.ready[domain], o)
			}
			p.mu.Unlock()
		})
	}
	for _, o := range stale {
		p.fs.abandon(domain, o)
	}
	if got == nil {
		got = p.fs.startOpen(domain, key)
	}
	return got
}

// usable reports whether o finished without error (without waiting).
func (o *PreOpen) usable() bool {
	select {
	case <-o.done:
		return o.err == nil
	default:
		return false
	}
}

// close abandons every pooled create_open.
func (p *openPool) close() {
	p.wg.Wait()
	p.mu.Lock()
	ready := p.ready
	p.ready = map[string][]*PreOpen{}
	p.mu.Unlock()
	for domain, q := range ready {
		for _, o := range q {
			p.fs.abandon(domain, o)
		}
	}
}

// abandon tells the tracker an unused create_open is given up (create_close
// with an empty key deletes its temp row), best effort.
func (fs *FS) abandon(domain string, o *PreOpen) {
	if !o.usable() || len(o.res.Dests) == 0 || !o.claim() {
		return
	}
	// Best effort: the tracker's reaper drops the temp row an hour later
	// anyway, so an unmount does not wait out a tracker outage for it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	fs.c.CreateClose(ctx, domain, "", o.res.FID, o.res.Dests[0], 0, "")
}
