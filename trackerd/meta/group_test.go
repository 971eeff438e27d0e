package meta

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGroupCommit runs many concurrent writes through the SQLite committer:
// duplicates fail alone (savepoint rollback) while their batch mates commit,
// and a write whose context is cancelled mid-way either committed (nil) or
// left no trace, never anything in between.
func TestGroupCommit(t *testing.T) {
	for _, mode := range []string{"FULL", "NORMAL"} {
		t.Run(mode, func(t *testing.T) {
			s, err := Open(t.Context(), Config{DSN: "DBI:SQLite:dbname=" + filepath.Join(t.TempDir(), "g.db"), Synchronous: mode})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			const n, distinct = 200, 40
			var wg sync.WaitGroup
			errs := make([]error, n)
			cancelled := make([]error, n)
			for i := range n {
				wg.Go(func() {
					_, errs[i] = s.CreateDomain(t.Context(), fmt.Sprintf("dom%d", i%distinct))
				})
				wg.Go(func() {
					ctx, cancel := context.WithTimeout(t.Context(), time.Duration(rand.IntN(3000))*time.Microsecond)
					defer cancel()
					_, cancelled[i] = s.CreateDomain(ctx, fmt.Sprintf("c%d", i))
				})
			}
			wg.Wait()
			ok := 0
			for i, err := range errs {
				switch {
				case err == nil:
					ok++
				case !errors.Is(err, ErrExists):
					t.Errorf("CreateDomain(dom%d) = %v, want nil or ErrExists", i%distinct, err)
				}
			}
			if ok != distinct {
				t.Errorf("%d CreateDomain calls succeeded, want %d", ok, distinct)
			}
			doms, err := s.Domains(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			have := map[string]bool{}
			for _, d := range doms {
				have[d.Name] = true
			}
			for i := range distinct {
				if !have[fmt.Sprintf("dom%d", i)] {
					t.Errorf("dom%d missing", i)
				}
			}
			for i, err := range cancelled {
				name := fmt.Sprintf("c%d", i)
				if (err == nil) != have[name] {
					t.Errorf("CreateDomain(%s) = %v but stored = %v", name, err, have[name])
				}
			}
		})
	}
}

// TestBackgroundCheckpoint checks that committed writes reach the main
// database file without a checkpoint inside any COMMIT: the writer's own
// autocheckpoint is far away, so only the background checkpointer can copy
// the WAL into the file while the store stays open.
func TestBackgroundCheckpoint(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := Open(t.Context(), Config{DSN: "DBI:SQLite:dbname=" + path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	time.Sleep(3 * checkpointEvery) // let the schema's pages settle
	before := size()
	// About 200 KiB of rows: dozens of pages, far below the backstop.
	for i := range 200 {
		if _, err := s.RegisterTempFile(t.Context(), TempFile{DomainID: 1, Key: fmt.Sprintf("/k/%d/%s", i, strings.Repeat("x", 1000)), DevIDs: []int{1}}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(20 * checkpointEvery)
	for size() < before+100<<10 {
		if time.Now().After(deadline) {
			t.Fatalf("database file still %d bytes (was %d): WAL not checkpointed", size(), before)
		}
		time.Sleep(checkpointEvery / 4)
	}
}
