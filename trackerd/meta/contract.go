package meta

import (
	"context"
	"time"
)

// Contract is what trackerd and its jobs need from the metadata store. It is
// written down as an interface so the two halves of the tracker could be built
// side by side; *Store is its only implementation (asserted below), over SQLite
// or MySQL/MariaDB.
//
// Conventions: every method takes ctx first; "not found" is ErrNotFound (or a
// more specific sentinel from errors.go); uniqueness violations are ErrExists;
// nothing here formats wire errors.
type Contract interface {
	// Close releases the database.
	Close() error
	// Dialect returns "sqlite" or "mysql".
	Dialect() string
	// Now returns the database's unix time (UNIX_TIMESTAMP / strftime).
	Now(ctx context.Context) (time.Time, error)

	// Domains and classes.
	Domains(ctx context.Context) ([]Domain, error)
	CreateDomain(ctx context.Context, name string) (Domain, error) // ErrExists
	// DeleteDomain fails with ErrDomainHasFiles or ErrDomainHasClasses
	// (a class other than classid 0); it also removes the default class row.
	DeleteDomain(ctx context.Context, name string) error
	Classes(ctx context.Context) ([]Class, error) // all rows of all domains
	// CreateClass assigns classid max+1 in the domain (0 for name "default").
	CreateClass(ctx context.Context, c Class) (Class, error) // ErrExists, ErrNotFound (domain)
	// UpdateClass updates by (DomainID, Name); a "default" class with no row
	// gets one. ErrNotFound when the class does not exist.
	UpdateClass(ctx context.Context, c Class) error
	DeleteClass(ctx context.Context, dmid int, name string) error // ErrNotFound, ErrClassHasFiles

	// Hosts and devices.
	Hosts(ctx context.Context) ([]Host, error)
	CreateHost(ctx context.Context, h Host) (Host, error) // hostid = max+1; ErrExists on name/ip clash
	UpdateHost(ctx context.Context, h Host) error         // by ID, all fields written; ErrNotFound, ErrExists
	DeleteHost(ctx context.Context, hostid int) error     // ErrNotFound, ErrHostNotEmpty
	Devices(ctx context.Context) ([]Device, error)
	CreateDevice(ctx context.Context, d Device) error // ErrExists
	SetDeviceState(ctx context.Context, devid int, state string) error
	SetDeviceWeight(ctx context.Context, devid int, weight int) error
	// UpdateDeviceUsage records mb_total, mb_used and mb_asof=now.
	UpdateDeviceUsage(ctx context.Context, devid int, mbTotal, mbUsed int64) error

	// Namespace.
	// RegisterTempFile inserts a tempfile row and returns its fid (allocated
	// when t.FID is 0; never reused, greater than every file.fid). An explicit
	// fid already in tempfile or file gives ErrFIDInUse.
	RegisterTempFile(ctx context.Context, t TempFile) (int64, error)
	TempFile(ctx context.Context, fid int64) (TempFile, error) // ErrNotFound
	// CloseFile commits an upload in one transaction: deletes the tempfile row
	// (ErrNoTempFile if none), replaces an existing file with the same
	// (dmid,key) by queueing the old fid for deletion, inserts file_on,
	// replaces the file row with devcount 1, stores the checksum if given, and
	// queues the fid for replication (nexttry 0). It returns the old fid
	// replaced (0 if none).
	CloseFile(ctx context.Context, a CloseArgs) (oldFID int64, err error)
	// AbandonTempFile deletes the tempfile row and queues the fid for deletion
	// on devid (create_close with an empty key or a failed size check).
	AbandonTempFile(ctx context.Context, fid int64, devid int) error
	FileByKey(ctx context.Context, dmid int, key string) (File, error) // ErrNotFound
	FileByFID(ctx context.Context, fid int64) (File, error)            // ErrNotFound
	// FileDevIDs returns the devices holding a copy (file_on), ascending.
	FileDevIDs(ctx context.Context, fid int64) ([]int, error)
	// DeleteFile removes the key and queues its fid on the delete queue;
	// returns the fid. ErrNotFound when absent.
	DeleteFile(ctx context.Context, dmid int, key string) (int64, error)
	// RenameFile: ErrNotFound (from), ErrExists (to).
	RenameFile(ctx context.Context, dmid int, from, to string) error
	// ListKeys returns up to limit keys with the prefix, strictly after
	// `after`, in key order (byte order on both dialects).
	ListKeys(ctx context.Context, dmid int, prefix, after string, limit int) ([]string, error)
	// ListFIDs returns up to limit files with fid > from, ascending.
	ListFIDs(ctx context.Context, from int64, limit int) ([]File, error)
	// SetFileClass changes the class and queues replication.
	SetFileClass(ctx context.Context, fid int64, classid int) error
	// CountFiles returns how many files a domain (classid < 0) or a class has.
	CountFiles(ctx context.Context, dmid, classid int) (int64, error)

	// Replica map.
	// AddFileOn records a copy (idempotent) and recounts devcount.
	AddFileOn(ctx context.Context, fid int64, devid int) error
	// RemoveFileOn forgets a copy and recounts devcount.
	RemoveFileOn(ctx context.Context, fid int64, devid int) error
	// FIDsOnDevice pages the fids with a copy on devid, ascending, > after.
	FIDsOnDevice(ctx context.Context, devid int, after int64, limit int) ([]int64, error)
	// CountFileOn returns how many copies a device holds.
	CountFileOn(ctx context.Context, devid int) (int64, error)

	// Checksums (raw digest bytes).
	Checksum(ctx context.Context, fid int64) (hashtype int, sum []byte, err error) // ErrNotFound
	SetChecksum(ctx context.Context, fid int64, hashtype int, sum []byte) error
	DeleteChecksum(ctx context.Context, fid int64) error

	// Server settings.
	Settings(ctx context.Context) (map[string]string, error)
	Setting(ctx context.Context, key string) (string, bool, error)
	// SetSetting stores a value; an empty value deletes the row.
	SetSetting(ctx context.Context, key, value string) error

	// Work queues: rows are claimed by moving nexttry to now+lease, so two
	// trackers never hold the same row, and a crashed claimer's rows come due
	// again after the lease.
	Enqueue(ctx context.Context, j Job) error // INSERT IGNORE semantics: keeps an existing row
	// Claim takes up to n due rows (nexttry <= now), oldest nexttry first.
	Claim(ctx context.Context, q Queue, n int, lease time.Duration) ([]Job, error)
	// Finish deletes the row.
	Finish(ctx context.Context, q Queue, fid int64) error
	// Retry reschedules the row at `at` with failcount+1.
	Retry(ctx context.Context, q Queue, fid int64, at time.Time) error
	// QueueDepth counts rows (due or not).
	QueueDepth(ctx context.Context, q Queue) (int64, error)
	// QueueJob returns one row (file_debug); ErrNotFound.
	QueueJob(ctx context.Context, q Queue, fid int64) (Job, error)
	// ReplicateNow makes every deferred replicate row due; returns the count.
	ReplicateNow(ctx context.Context) (int64, error)
	// StaleTempFiles returns tempfile rows created before `before`.
	StaleTempFiles(ctx context.Context, before time.Time, limit int) ([]TempFile, error)
	DeleteTempFile(ctx context.Context, fid int64) error

	// Named locks across trackers (GET_LOCK on MySQL, the lock table on
	// SQLite). TryLock returns ok=false when another holder has it; the
	// returned release must be called.
	TryLock(ctx context.Context, name string, ttl time.Duration) (release func(), ok bool, err error)

	// fsck log.
	AddFsckLog(ctx context.Context, e FsckLogEntry) error
	FsckLog(ctx context.Context, afterLogID int64, limit int) ([]FsckLogEntry, error)
	ClearFsckLog(ctx context.Context) error
	MaxFsckLogID(ctx context.Context) (int64, error)
	MaxFID(ctx context.Context) (int64, error)

	// Extension tables for the mount (mogfs_attr): POSIX attributes of keys
	// and directories that the MogileFS schema cannot hold. Stock MogileFS
	// never reads them.
	GetAttr(ctx context.Context, dmid int, path string) (Attr, error) // ErrNotFound
	SetAttr(ctx context.Context, a Attr) error                        // upsert
	DeleteAttr(ctx context.Context, dmid int, path string) error
	// ListDir pages through the direct children of a directory prefix
	// (keys, key prefixes and explicit directories) in a constant number
	// of statements per page; HasChildren probes for any child.
	ListDir(ctx context.Context, dmid int, prefix, after string, limit int) (ents []DirEntry, next string, done bool, err error)
	HasChildren(ctx context.Context, dmid int, prefix string) (bool, error)
	// RenameAttrs moves the attr of `from` and of everything under `from/` to
	// `to` (directory rename support).
	RenameAttrs(ctx context.Context, dmid int, from, to string) (existed bool, err error)
}

var _ Contract = (*Store)(nil)
