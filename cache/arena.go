package cache

import (
	"math/bits"
	"sync"
	"syscall"
)

// minSlot is the smallest slot an arena hands out: a page.
const minSlot = 4096

// arena holds cached bytes off the Go heap, in one anonymous mapping
// reserved at start and touched only as it is used. Cached data is the
// mount's largest live memory; on the heap, the collector paces on it (a
// full 256 MiB cache doubles the heap target, or, under a soft limit, keeps
// the collector running without pause), while the arena's pages are never
// scanned and its resident size is bounded by the mapping.
//
// The mapping is cut into chunks of the largest slot size; a chunk serves
// one slot size (a power of two from a page up) at a time and goes back to
// the free chunks when its last slot is freed. A request no free slot can
// serve gets nil, and the caller falls back to the heap.
type arena struct {
	mem   []byte
	chunk int // bytes per chunk: the largest slot size

	mu      sync.Mutex
	free    []int32   // chunks serving no size
	partial [][]int32 // per size class: chunks with a free slot
	chunks  []chunkState
	used    int // slot bytes handed out
}

type chunkState struct {
	class int     // size class, valid while used > 0
	used  int     // slots handed out
	slots []int32 // free slot numbers
	pos   int     // index in partial[class], -1 when not there
}

// newArena maps size bytes (rounded up to chunks of maxSlot, itself
// rounded up to a power of two); it returns nil if the mapping fails, and
// the cache then keeps everything on the heap.
func newArena(size int64, maxSlot int) *arena {
	chunk := max(1<<bits.Len(uint(maxSlot-1)), minSlot)
	n := int((size + int64(chunk) - 1) / int64(chunk))
	if n == 0 {
		return nil
	}
	// MAP_NORESERVE: the reservation is address space; only slots that
	// are written become resident.
	mem, err := syscall.Mmap(-1, 0, n*chunk, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return nil
	}
	a := &arena{mem: mem, chunk: chunk, chunks: make([]chunkState, n)}
	a.partial = make([][]int32, bits.Len(uint(chunk/minSlot)))
	for i := n - 1; i >= 0; i-- {
		a.free = append(a.free, int32(i)) // lowest chunk first: keep the touched ones busy
		a.chunks[i].pos = -1
	}
	return a
}

// class returns the size class of an n-byte request: slot size minSlot<<class.
func class(n int) int {
	if n <= minSlot {
		return 0
	}
	return bits.Len(uint(n-1)) - bits.Len(minSlot-1)
}

// alloc returns a slot of at least n bytes, as its offset and length in
// mem, or ok false when the arena is full or n is larger than a chunk.
func (a *arena) alloc(n int) (off, size int, ok bool) {
	if n > a.chunk {
		return 0, 0, false
	}
	c := class(n)
	size = minSlot << c
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.partial[c]) == 0 {
		if len(a.free) == 0 {
			return 0, 0, false
		}
		ci := a.free[len(a.free)-1]
		a.free = a.free[:len(a.free)-1]
		cs := &a.chunks[ci]
		cs.class, cs.used = c, 0
		cs.slots = cs.slots[:0]
		for s := a.chunk/size - 1; s >= 0; s-- {
			cs.slots = append(cs.slots, int32(s))
		}
		cs.pos = len(a.partial[c])
		a.partial[c] = append(a.partial[c], ci)
	}
	p := a.partial[c]
	ci := p[len(p)-1]
	cs := &a.chunks[ci]
	s := cs.slots[len(cs.slots)-1]
	cs.slots = cs.slots[:len(cs.slots)-1]
	cs.used++
	if len(cs.slots) == 0 {
		a.unlinkPartial(ci)
	}
	a.used += size
	return int(ci)*a.chunk + int(s)*size, size, true
}

// release returns the slot at off, of size bytes, to its chunk.
func (a *arena) release(off, size int) {
	ci := int32(off / a.chunk)
	a.mu.Lock()
	defer a.mu.Unlock()
	cs := &a.chunks[ci]
	cs.used--
	a.used -= size
	if cs.used == 0 {
		if cs.pos >= 0 {
			a.unlinkPartial(ci)
		}
		a.free = append(a.free, ci)
		return
	}
	cs.slots = append(cs.slots, int32(off%a.chunk/size))
	if cs.pos < 0 {
		cs.pos = len(a.partial[cs.class])
		a.partial[cs.class] = append(a.partial[cs.class], ci)
	}
}

// unlinkPartial removes chunk ci from its class's partial list.
func (a *arena) unlinkPartial(ci int32) {
	cs := &a.chunks[ci]
	p := a.partial[cs.class]
	last := p[len(p)-1]
	p[cs.pos] = last
	a.chunks[last].pos = cs.pos
	a.partial[cs.class] = p[:len(p)-1]
	cs.pos = -1
}

// inUse returns the slot bytes handed out and the bytes of chunks serving
// some size (what may be resident).
func (a *arena) inUse() (slots, chunks int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return int64(a.used), int64(len(a.chunks)-len(a.free)) * int64(a.chunk)
}
