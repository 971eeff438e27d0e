package meta

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
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
