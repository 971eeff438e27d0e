package jobs

import (
	"context"
	"time"

	"mogfs/trackerd/meta"
)

// Store is what the jobs need of the metadata store (*meta.Store, whose
// conformance suite metatest runs on both databases): the queues, the file
// and replica rows, checksums, fsck's log and cursor settings, and locks.
type Store interface {
	AddFileOn(ctx context.Context, fid int64, devid int) error
	AdoptLegacyDeletes(ctx context.Context, now time.Time) (int64, error)
	AddFsckLog(ctx context.Context, e meta.FsckLogEntry) error
	Checksum(ctx context.Context, fid int64) (hashtype int, sum []byte, err error)
	Claim(ctx context.Context, q meta.Queue, n int, lease time.Duration) ([]meta.Job, error)
	Classes(ctx context.Context) ([]meta.Class, error)
	ClearFsckLog(ctx context.Context) error
	DeleteChecksum(ctx context.Context, fid int64) error
	DeleteTempFile(ctx context.Context, fid int64) error
	Devices(ctx context.Context) ([]meta.Device, error)
	Enqueue(ctx context.Context, j meta.Job) error
	FIDsOnDevice(ctx context.Context, devid int, after int64, limit int) ([]int64, error)
	FIDsOnDeviceNewest(ctx context.Context, devid int, before int64, limit int) ([]int64, error)
	FileByFID(ctx context.Context, fid int64) (meta.File, error)
	FileDevIDs(ctx context.Context, fid int64) ([]int, error)
	Finish(ctx context.Context, q meta.Queue, fid int64) error
	FsckLog(ctx context.Context, afterLogID int64, limit int) ([]meta.FsckLogEntry, error)
	ListFIDs(ctx context.Context, from int64, limit int) ([]meta.File, error)
	MaxFID(ctx context.Context) (int64, error)
	MaxFsckLogID(ctx context.Context) (int64, error)
	Now(ctx context.Context) (time.Time, error)
	QueueDepth(ctx context.Context, q meta.Queue) (int64, error)
	RemoveFileOn(ctx context.Context, fid int64, devid int) error
	Renew(ctx context.Context, q meta.Queue, fid int64, from time.Time, lease time.Duration) (time.Time, bool, error)
	ReplicateNow(ctx context.Context) (int64, error)
	Retry(ctx context.Context, q meta.Queue, fid int64, at time.Time) error
	SetChecksum(ctx context.Context, fid int64, hashtype int, sum []byte) error
	SetDeviceState(ctx context.Context, devid int, state string) error
	SetSetting(ctx context.Context, key, value string) error
	Setting(ctx context.Context, key string) (string, bool, error)
	Settings(ctx context.Context) (map[string]string, error)
	StaleTempFiles(ctx context.Context, before time.Time, limit int) ([]meta.TempFile, error)
	TryLock(ctx context.Context, name string, ttl time.Duration) (release func(), ok bool, err error)
}

var _ Store = (*meta.Store)(nil)
