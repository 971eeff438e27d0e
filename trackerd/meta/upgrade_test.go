package meta_test

import (
	"testing"

	"mogfs/trackerd/meta"
	"mogfs/trackerd/meta/metatest"
)

// upgraded makes a SQLite database with domain "d", runs stmts on it
// behind the store's back (to make it look older), and opens it again.
func upgraded(t *testing.T, stmts ...string) (*meta.Store, meta.Domain) {
	t.Helper()
	ctx := t.Context()
	cfg := metatest.SQLiteConfig(t)
	s := metatest.Open(t, cfg)
	d, err := s.CreateDomain(ctx, "d")
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	raw := metatest.RawDB(t, cfg)
	for _, q := range stmts {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return metatest.Open(t, cfg), d
}

// TestSQLiteUpgrade: a SQLite database from before schema versions 10, 13
// and 15 (no class.replpolicy, class.hashtype or file_to_queue.arg) gets
// the columns at Open and is recorded as version 17.
func TestSQLiteUpgrade(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, d := upgraded(t,
		"ALTER TABLE class DROP COLUMN replpolicy",
		"ALTER TABLE class DROP COLUMN hashtype",
		"ALTER TABLE file_to_queue DROP COLUMN arg",
		"UPDATE server_settings SET value = '9' WHERE field = 'schema_version'",
	)
	if v, _, _ := s.Setting(ctx, "schema_version"); v != "17" {
		t.Fatalf("schema_version = %q, want 17", v)
	}
	c, err := s.CreateClass(ctx, meta.Class{DomainID: d.ID, Name: "c", MinDevCount: 2, ReplPolicy: "MultipleHosts(2)", HashType: 1})
	if err != nil {
		t.Fatalf("CreateClass after upgrade: %v", err)
	}
	if cs, _ := s.Classes(ctx); len(cs) != 1 || cs[0] != c {
		t.Fatalf("Classes() = %+v, want [%+v]", cs, c)
	}
	if err := s.Enqueue(ctx, meta.Job{Queue: meta.QueueRebalance, FID: 1, FromDevID: 2, Arg: "3,4"}); err != nil {
		t.Fatalf("Enqueue(rebalance) after upgrade: %v", err)
	}
	if j, err := s.QueueJob(ctx, meta.QueueRebalance, 1); err != nil || j.Arg != "3,4" {
		t.Fatalf("QueueJob = %+v, %v", j, err)
	}
}

// TestSQLiteUpgradeDirKey: a mogfs_attr of an older mogfs (no dirkey, ino,
// rdev or linkkey; directories indexed by (dmid, isdir, path)) gets the
// columns, dirkey filled for the directory rows, so ListDir lists the
// directories made before and their rows read with no inode number.
func TestSQLiteUpgradeDirKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s, d := upgraded(t,
		"DROP INDEX mogfs_attr_dirkey",
		"DROP INDEX mogfs_attr_linkkey",
		"ALTER TABLE mogfs_attr DROP COLUMN dirkey",
		"ALTER TABLE mogfs_attr DROP COLUMN ino",
		"ALTER TABLE mogfs_attr DROP COLUMN rdev",
		"ALTER TABLE mogfs_attr DROP COLUMN linkkey",
		"CREATE INDEX mogfs_attr_dirs ON mogfs_attr (dmid, isdir, path)",
		"INSERT INTO mogfs_attr (dmid, path, isdir, mode) VALUES (1, 'a/old', 1, 16877), (1, 'a/file', 0, 33188), (1, 'a/deep/er', 1, 16877)",
	)
	ents, _, done, err := s.ListDir(ctx, d.ID, "a/", "", 10)
	if err != nil || !done || len(ents) != 2 || ents[0].Pos() != "deep/" || ents[1].Pos() != "old/" {
		t.Fatalf("ListDir(a/) after upgrade = %+v, %v, %v", ents, done, err)
	}
	if a, err := s.GetAttr(ctx, d.ID, "a/old"); err != nil || !a.IsDir || a.Ino != 0 || a.LinkKey != "" {
		t.Fatalf("GetAttr(a/old) after upgrade = %+v, %v", a, err)
	}
}
