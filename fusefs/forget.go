package fusefs

import (
	"container/list"
	"context"
	"sync"

	"github.com/hanwen/go-fuse/v2/fs"
)

// The kernel frees an inode (FORGET) only when it evicts the dentry, which
// it does under memory pressure, not when entry_timeout passes: on a big
// machine a find over a million keys keeps a million inodes in this
// process (about 800 bytes each). inodeLRU bounds them: past max_inodes
// it asks the kernel to drop the least recently looked-up names
// (NotifyEntry), and the kernel's FORGETs then free the inodes it is not
// using. A name dropped this way costs one lookup when next used.

// inodeLRU orders the entry inodes by last use.
type inodeLRU struct {
	max  int
	kick chan struct{} // wakes the sweeper; buffered, never blocks

	mu   sync.Mutex // guards list and every node's lru element
	list list.List  // of *node, most recently used at the front
}

func newInodeLRU(max int) *inodeLRU {
	return &inodeLRU{max: max, kick: make(chan struct{}, 1)}
}

// touch records a use of n (a lookup, a create): it goes to the front.
func (l *inodeLRU) touch(n *node) {
	if l == nil || l.max <= 0 {
		return
	}
	l.mu.Lock()
	if n.lru != nil {
		l.list.MoveToFront(n.lru)
	} else {
		n.lru = l.list.PushFront(n)
	}
	over := l.list.Len() > l.max
	l.mu.Unlock()
	if over {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// forget drops n, which the kernel forgot.
func (l *inodeLRU) forget(n *node) {
	if l == nil {
		return
	}
	l.mu.Lock()
	if n.lru != nil {
		l.list.Remove(n.lru)
		n.lru = nil
	}
	l.mu.Unlock()
}

// Len is how many inodes are tracked.
func (l *inodeLRU) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.list.Len()
}

// sweep runs until ctx ends: each time the count is over max it takes the
// oldest tenth of max off the list and asks the kernel to drop their names.
// It runs on its own goroutine: a notification must not be sent from the
// goroutine serving a request on the same directory.
func (l *inodeLRU) sweep(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.kick:
		}
		for {
			victims := l.oldest(max(l.max/10, 1))
			if len(victims) == 0 {
				break
			}
			for _, n := range victims {
				if name, parent := n.Parent(); parent != nil {
					// ENOENT: the kernel no longer has the name; fine.
					parent.NotifyEntry(name)
				}
			}
		}
	}
}

// oldest removes and returns up to k of the least recently used nodes
// while the count is over max. Nodes with an open write session stay:
// the kernel keeps them anyway.
func (l *inodeLRU) oldest(k int) []*node {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*node
	for e := l.list.Back(); e != nil && l.list.Len() > l.max && len(out) < k; {
		prev := e.Prev()
		n := e.Value.(*node)
		l.list.Remove(e)
		n.lru = nil
		if !n.busy() {
			out = append(out, n)
		}
		e = prev
	}
	return out
}

// busy reports whether n has an open write session.
func (n *node) busy() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sess != nil
}

var _ = (fs.NodeOnForgetter)((*node)(nil))

// OnForget is the kernel's FORGET of the node's last reference.
func (n *node) OnForget() { n.m.lru.forget(n) }
