package dbstats

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
)

// seed fills a database through a tracker's Store (left open, as a running
// tracker would be) with what the golden output below describes.
func seed(t *testing.T, cfg meta.Config) {
	t.Helper()
	ctx := t.Context()
	s := metatest.Open(t, cfg)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	h1, err := s.CreateHost(ctx, meta.Host{Name: "h1", IP: "10.0.0.1"})
	must(err)
	h2, err := s.CreateHost(ctx, meta.Host{Name: "storage-host-two", IP: "10.0.0.2"})
	must(err)
	must(s.CreateDevice(ctx, meta.Device{ID: 1, HostID: h1.ID}))
	must(s.CreateDevice(ctx, meta.Device{ID: 2, HostID: h1.ID}))
	must(s.CreateDevice(ctx, meta.Device{ID: 3, HostID: h2.ID, Status: "drain"}))
	must(s.CreateDevice(ctx, meta.Device{ID: 4, HostID: h2.ID})) // no copies: not listed
	photos, err := s.CreateDomain(ctx, "photos")
	must(err)
	docs, err := s.CreateDomain(ctx, "docs")
	must(err)
	thumbs, err := s.CreateClass(ctx, meta.Class{DomainID: photos.ID, Name: "thumbs", MinDevCount: 2})
	must(err)
	file := func(dmid, classid int, key string, length int64, devids ...int) int64 {
		t.Helper()
		fid, err := s.RegisterTempFile(ctx, meta.TempFile{DomainID: dmid, ClassID: classid, Key: key, DevIDs: devids[:1]})
		must(err)
		_, err = s.CloseFile(ctx, meta.CloseArgs{FID: fid, DomainID: dmid, ClassID: classid, Key: key, DevID: devids[0], Length: length})
		must(err)
		for _, d := range devids[1:] {
			must(s.AddFileOn(ctx, fid, d))
		}
		return fid
	}
	file(photos.ID, 0, "a", 3<<20, 1, 2)
	file(photos.ID, thumbs.ID, "t1", 1<<20, 1)
	file(photos.ID, thumbs.ID, "t2", 2<<20+5, 1, 3)
	file(docs.ID, 0, "d", 5, 3, 9) // dev9 has no device row

	now, err := s.Now(ctx)
	must(err)
	past, later := now.Add(-time.Hour), now.Add(time.Hour)
	for _, j := range []meta.Job{ // CloseFile queued fids 1-4 for replication (nexttry 0)
		{Queue: meta.QueueReplicate, FID: 100, NextTry: meta.EndOfTime},
		{Queue: meta.QueueReplicate, FID: 101, NextTry: later},
		{Queue: meta.QueueReplicate, FID: 102, NextTry: past},
		{Queue: meta.QueueReplicate, FID: 103, NextTry: time.Unix(5, 0)},
		{Queue: meta.QueueDelete, FID: 200},
		{Queue: meta.QueueDelete, FID: 201, NextTry: time.Unix(1, 0)},
		{Queue: meta.QueueFSCK, FID: 300},
		{Queue: meta.QueueFSCK, FID: 301, NextTry: later},
		{Queue: meta.QueueRebalance, FID: 400, NextTry: past},
	} {
		must(s.Enqueue(ctx, j))
	}
}

const wantAll = `Fetching statistics... (all)
... replication stats...
... done
... replication queue stats...
... done
... delete queue stats...
... done
... files stats...
... done
... per-device stats...
... done
... fid stats...
... done
... queue stats...
... done

Statistics for devices...
  device     host                   files     status
  ---------- ---------------- ------------ ----------
  dev1       h1                  3      alive
  dev2       h1                  1      alive
  dev3       storage-host-two          2      drain
  dev9                           1           
  ---------- ---------------- ------------ ----------

Statistics for file ids...
  Max file id: 4

Statistics for files...
  domain               class           files    size (m)  fullsize (m)
  -------------------- ----------- ---------- ----------- -------------
  docs                 default             1           0             0
  photos               default             1           3             6
  photos               thumbs              2           3             5
  -------------------- ----------- ---------- ----------- -------------

Statistics for replication...
  domain               class        devcount      files
  -------------------- ----------- ---------- ----------
  docs                 default             2          1
  photos               default             2          1
  photos               thumbs              1          1
  photos               thumbs              2          1
  -------------------- ----------- ---------- ----------

Statistics for replication queue...
  status                      count
  -------------------- ------------
  deferred                        1
  manual                          1
  newfile                         4
  overdue                         1
  unknown                         1
  -------------------- ------------

Statistics for delete queue...
  status                      count
  -------------------- ------------
  new                             1
  redo                            1
  -------------------- ------------

Statistics for general queues...
  queue           status                      count
  --------------- -------------------- ------------
  FSCK_QUEUE      deferred                        1
  FSCK_QUEUE      new                             1
  REBAL_QUEUE     overdue                         1
  --------------- -------------------- ------------

done
`

func TestRun(t *testing.T) {
	for _, db := range []struct {
		name  string
		newDB metatest.NewDB
	}{{"sqlite", metatest.SQLiteConfig}, {"mariadb", metatest.MySQLConfig}} {
		t.Run(db.name, func(t *testing.T) {
			cfg := db.newDB(t) // skips the MariaDB case without a server (fails under CI)
			seed(t, cfg)
			run := func(stats string, verbose bool) string {
				t.Helper()
				var out bytes.Buffer
				err := Run(t.Context(), Config{DSN: cfg.DSN, User: cfg.User, Pass: cfg.Pass, Stats: stats, Verbose: verbose, Out: &out})
				if err != nil {
					t.Fatalf("Run(%q) = %v; output:\n%s", stats, err, out.String())
				}
				return out.String()
			}
			if got := run("", true); got != wantAll {
				t.Errorf("Run(all, verbose) =\n%s\nwant\n%s", got, wantAll)
			}
			want := "Fetching statistics... (domains,fids)\n\nStatistics for file ids...\n  Max file id: 4\n\n" +
				"Statistics for domains...\n" +
				"  domain               class           files\n" +
				"  -------------------- ----------- ----------\n" +
				"  docs                 default             1\n" +
				"  photos               default             1\n" +
				"  photos               thumbs              2\n" +
				"  -------------------- ----------- ----------\n\ndone\n"
			if got := run("domains,fids", false); got != want {
				t.Errorf("Run(domains,fids) =\n%s\nwant\n%s", got, want)
			}
			// "domains" is left out beside "files", which has its numbers.
			if got := run("files,domains", false); bytes.Contains([]byte(got), []byte("Statistics for domains")) {
				t.Errorf("Run(files,domains) printed the domains section:\n%s", got)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := Run(context.Background(), Config{DSN: "DBI:SQLite:dbname=" + filepath.Join(dir, "db"), Stats: "fids,bogus", Out: &out})
	if !errors.Is(err, ErrUnknownStat) || out.Len() != 0 {
		t.Errorf("Run(fids,bogus) = %v, printed %q; want ErrUnknownStat before any output", err, out.String())
	}
	missing := filepath.Join(dir, "missing.db")
	err = Run(context.Background(), Config{DSN: "DBI:SQLite:dbname=" + missing, Stats: "fids", Out: &out})
	if err == nil {
		t.Fatal("Run on a missing SQLite file succeeded")
	}
	if m, _ := filepath.Glob(missing + "*"); len(m) != 0 {
		t.Errorf("Run on a missing SQLite file created %v", m)
	}
}

func TestQueueStatus(t *testing.T) {
	const now = 1_700_000_000
	for _, tc := range []struct {
		nexttry int64
		want    string
	}{
		{0, "fresh"}, {1, "redo"}, {2, "unknown"}, {999, "unknown"}, {1000, "overdue"},
		{now - 1, "overdue"}, {now, "deferred"}, {now + 1, "deferred"}, {meta.EndOfTime.Unix(), "manual"},
	} {
		if got := queueStatus(tc.nexttry, now, "fresh"); got != tc.want {
			t.Errorf("queueStatus(%d) = %q, want %q", tc.nexttry, got, tc.want)
		}
	}
}
