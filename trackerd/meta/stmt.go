package meta

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache keeps one prepared statement per read query text. On MySQL an
// unprepared query with arguments costs a prepare round trip every time;
// on SQLite it costs a compile. The query texts are a small fixed set (a
// few variants per method), so the cache is bounded.
type stmtCache struct {
	mu sync.Mutex // guards m
	m  map[string]*sql.Stmt
}

func (s *Store) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	s.stmts.mu.Lock()
	st := s.stmts.m[q]
	s.stmts.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := s.r.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.stmts.mu.Lock()
	defer s.stmts.mu.Unlock()
	if old := s.stmts.m[q]; old != nil { // another goroutine won the race
		st.Close()
		return old, nil
	}
	if s.stmts.m == nil {
		s.stmts.m = map[string]*sql.Stmt{}
	}
	s.stmts.m[q] = st
	return st, nil
}

// read runs a read query on the reader pool through the statement cache.
func (s *Store) read(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s.queries.Add(1)
	st, err := s.stmt(ctx, q)
	if err != nil {
		return s.r.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

// readRow is read for one row.
func (s *Store) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	s.queries.Add(1)
	st, err := s.stmt(ctx, q)
	if err != nil {
		// Let QueryRowContext report the same error through Scan.
		return s.r.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for _, st := range c.m {
		err = errors.Join(err, st.Close())
	}
	c.m = nil
	return err
}
