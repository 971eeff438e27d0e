package meta_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
)

// benchKeys is how many files the benchmarks preload.
const benchKeys = 10000

var backends = []struct {
	name  string
	newDB metatest.NewDB
}{
	{"sqlite", metatest.SQLiteConfig},
	{"mysql", metatest.MySQLConfig},
}

func benchKey(i int) string { return fmt.Sprintf("bench/dir%03d/file-%06d.jpg", i%100, i) }

// preload opens a fresh store with benchKeys files (fids 1..benchKeys, two
// copies each), inserted in bulk through the raw database for speed.
func preload(b *testing.B, newDB metatest.NewDB) *meta.Store {
	b.Helper()
	cfg := newDB(b)
	s := metatest.Open(b, cfg)
	ctx := b.Context()
	d, err := s.CreateDomain(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	raw := metatest.RawDB(b, cfg)
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	const batch = 500
	for start := 0; start < benchKeys; start += batch {
		var files, ons []string
		var fargs, oargs []any
		for i := start; i < start+batch; i++ {
			files = append(files, "(?, ?, ?, 1000, 0, 2)")
			fargs = append(fargs, i+1, d.ID, benchKey(i))
			ons = append(ons, "(?, 1)", "(?, 2)")
			oargs = append(oargs, i+1, i+1)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO file (fid, dmid, dkey, length, classid, devcount) VALUES "+
			strings.Join(files, ","), fargs...); err != nil {
			b.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO file_on (fid, devid) VALUES "+strings.Join(ons, ","), oargs...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkGetPaths is the get_paths lookup: FileByKey then FileDevIDs.
func BenchmarkGetPaths(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := preload(b, be.newDB)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				f, err := s.FileByKey(ctx, 1, benchKey(rand.IntN(benchKeys)))
				if err != nil {
					b.Fatal(err)
				}
				if ids, err := s.FileDevIDs(ctx, f.FID); err != nil || len(ids) != 2 {
					b.Fatalf("FileDevIDs = %v, %v", ids, err)
				}
			}
		})
	}
}

// BenchmarkCreateClose is create_open + create_close of a new key.
func BenchmarkCreateClose(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := preload(b, be.newDB)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				key := fmt.Sprintf("new/%d", i)
				fid, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: 1, Key: key, DevIDs: []int{1, 2}})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := s.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: 1, Key: key, DevID: 1, Length: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListKeys pages 1000 keys from a random point of the namespace.
func BenchmarkListKeys(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			s := preload(b, be.newDB)
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(1000 * len(benchKey(0))))
			for b.Loop() {
				after := benchKey(rand.IntN(benchKeys - 1000))
				keys, err := s.ListKeys(ctx, 1, "bench/", after, 1000)
				if err != nil || len(keys) == 0 {
					b.Fatalf("ListKeys = %d keys, %v", len(keys), err)
				}
			}
		})
	}
}
