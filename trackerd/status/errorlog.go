package status

import (
	"sync"
	"time"
)

// MaxJobErrors is how many recent job errors the page shows.
const MaxJobErrors = 50

// ErrorLog keeps the most recent job errors in a ring, for the tracker to
// fill from its jobs and hand to the page through its Source. It is safe for
// concurrent use; a nil *ErrorLog drops everything.
type ErrorLog struct {
	mu   sync.Mutex // guards buf and next
	buf  []JobError // ring of at most cap(buf) entries
	next int        // index the next Add writes once buf is full
}

// NewErrorLog returns a log keeping the last n errors (MaxJobErrors when
// n <= 0).
func NewErrorLog(n int) *ErrorLog {
	if n <= 0 {
		n = MaxJobErrors
	}
	return &ErrorLog{buf: make([]JobError, 0, n)}
}

// Add records e, stamping it with the current time when e.Time is zero.
func (l *ErrorLog) Add(e JobError) {
	if l == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) < cap(l.buf) {
		l.buf = append(l.buf, e)
		return
	}
	l.buf[l.next] = e
	l.next = (l.next + 1) % len(l.buf)
}

// Recent returns a copy of the kept errors, newest first.
func (l *ErrorLog) Recent() []JobError {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]JobError, 0, len(l.buf))
	// Oldest is at next once the ring has wrapped (next is 0 before).
	for i := len(l.buf) - 1; i >= 0; i-- {
		out = append(out, l.buf[(l.next+i)%len(l.buf)])
	}
	return out
}
