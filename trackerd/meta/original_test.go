package meta_test

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
)

// TestOriginalSchema seeds a database with the original MogileFS DDL and
// rows, then checks that the store opens it (upgrading where needed), reads
// the rows, and writes what the original could not hold.
func TestOriginalSchema(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name    string
		newDB   metatest.NewDB
		ddlFile string
	}{
		{"sqlite", metatest.SQLiteConfig, "testdata/mogilefs-sqlite.sql"},
		{"mysql", metatest.MySQLConfig, "testdata/mogilefs-mysql.sql"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			cfg := c.newDB(t)
			raw := metatest.RawDB(t, cfg)
			script, err := os.ReadFile(c.ddlFile)
			if err != nil {
				t.Fatal(err)
			}
			for _, stmt := range strings.Split(string(script), ";\n") {
				if lines := strings.TrimSpace(stripComments(stmt)); lines != "" {
					if _, err := raw.ExecContext(ctx, lines); err != nil {
						t.Fatalf("seed: %v\n%s", err, lines)
					}
				}
			}
			s := metatest.Open(t, cfg)
			if v, _, _ := s.Setting(ctx, "schema_version"); v != "17" {
				t.Fatalf("schema_version = %q, want 17", v)
			}
			f, err := s.FileByKey(ctx, 1, "cat.jpg")
			if err != nil || f.FID != 41 || f.Length != 5 || f.ClassID != 1 || f.DevCount != 2 {
				t.Fatalf("FileByKey(cat.jpg) = %+v, %v", f, err)
			}
			if ids, _ := s.FileDevIDs(ctx, 41); !slices.Equal(ids, []int{1, 2}) {
				t.Fatalf("FileDevIDs(41) = %v", ids)
			}
			if ht, sum, err := s.Checksum(ctx, 41); err != nil || ht != 1 || !bytes.Equal(sum[:2], []byte{0x01, 0x23}) {
				t.Fatalf("Checksum(41) = %d, %x, %v", ht, sum, err)
			}
			if keys, _ := s.ListKeys(ctx, 1, "", "", 10); !slices.Equal(keys, []string{"cat.jpg", "dog.jpg"}) {
				t.Fatalf("ListKeys = %q", keys)
			}
			classes, _ := s.Classes(ctx)
			if len(classes) != 1 || classes[0].Name != "thumbs" || classes[0].MinDevCount != 3 || classes[0].HashType != 1 {
				t.Fatalf("Classes = %+v", classes)
			}
			devs, _ := s.Devices(ctx)
			if len(devs) != 2 || devs[1].Status != "drain" || devs[0].MBTotal != 1000 {
				t.Fatalf("Devices = %+v", devs)
			}
			if j, err := s.QueueJob(ctx, meta.QueueReplicate, 42); err != nil || j.FromDevID != 2 || j.FailCount != 1 {
				t.Fatalf("QueueJob(replicate, 42) = %+v, %v", j, err)
			}
			if tf, err := s.TempFile(ctx, 43); err != nil || tf.Key != "half.jpg" || !slices.Equal(tf.DevIDs, []int{1, 2}) {
				t.Fatalf("TempFile(43) = %+v, %v", tf, err)
			}
			// What version 17 and our widening add.
			hosts, _ := s.Hosts(ctx)
			h := hosts[0]
			h.Status = "readonly"
			if err := s.UpdateHost(ctx, h); err != nil {
				t.Fatalf("UpdateHost(readonly): %v", err)
			}
			fid, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: 1, Key: strings.Repeat("k", 1024)})
			if err != nil || fid <= 43 {
				t.Fatalf("RegisterTempFile = %d, %v; want a fid above the existing 43", fid, err)
			}
			long := strings.Repeat("k", 1024)
			if _, err := s.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: 1, Key: long, DevID: 1}); err != nil {
				t.Fatalf("CloseFile(1024-byte key): %v", err)
			}
			if f, err := s.FileByKey(ctx, 1, long); err != nil || f.FID != fid {
				t.Fatalf("FileByKey(1024-byte key) = %+v, %v", f, err)
			}
			if err := s.SetSetting(ctx, "network_zones", strings.Repeat("z,", 200)); err != nil {
				t.Fatalf("SetSetting(long value): %v", err)
			}
			s.Close()
			metatest.Open(t, cfg) // the upgraded database opens again as is
		})
	}
}

func stripComments(stmt string) string {
	var out []string
	for line := range strings.SplitSeq(stmt, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
