package meta

import "time"

// Domain is a row of the domain table.
type Domain struct {
	ID   int    // dmid
	Name string // namespace
}

// Class is a row of the class table. ClassID 0 is the implicit "default"
// class; it has a row only when an admin created or updated it.
type Class struct {
	DomainID    int
	ID          int // classid
	Name        string
	MinDevCount int
	ReplPolicy  string // "" means MultipleHosts()
	HashType    int    // 0 none, 1 MD5, 2 SHA-1
}

// File is a row of the file table: one live key.
type File struct {
	FID      int64
	DomainID int
	Key      string
	Length   int64
	ClassID  int
	DevCount int
}

// TempFile is a row of the tempfile table: an upload between create_open and
// create_close.
type TempFile struct {
	FID        int64 // 0 asks RegisterTempFile to allocate one
	DomainID   int
	Key        string
	ClassID    int
	DevIDs     []int // devices offered to the client, in order
	CreateTime time.Time
}

// Host is a row of the host table.
type Host struct {
	ID          int
	Name        string
	IP          string
	HTTPPort    int    // default 7500
	HTTPGetPort int    // 0 when unset (NULL)
	Status      string // alive, dead, down, readonly
	AltIP       string // "" when NULL
	AltMask     string // "" when NULL
}

// Device is a row of the device table. MB* are 0 with HaveUsage false until the
// monitor has written usage.
type Device struct {
	ID        int
	HostID    int
	Status    string // alive, dead, down, readonly, drain
	Weight    int    // default 100
	HaveUsage bool   // mb_total/mb_used are known (not NULL)
	MBTotal   int64
	MBUsed    int64
	MBAsOf    time.Time
}

// Queue names one of the MogileFS work queues.
type Queue int

// The work queues. Replicate is file_to_replicate, Delete is file_to_delete2,
// FSCK and Rebalance are file_to_queue with type 1 and 2.
const (
	QueueReplicate Queue = iota + 1
	QueueDelete
	QueueFSCK
	QueueRebalance
)

// Job is one row of a work queue.
type Job struct {
	Queue     Queue
	FID       int64
	NextTry   time.Time // zero time means "now" (stored as 0)
	FailCount int
	FromDevID int    // replicate: preferred source (0 = none); rebalance: source device
	Arg       string // rebalance: comma list of destination devids
	// LeaseEnd is the nexttry Claim set: the row is ours until then, and
	// Renew moves it only while it still holds this value.
	LeaseEnd time.Time
}

// FsckLogEntry is a row of fsck_log.
type FsckLogEntry struct {
	LogID  int64
	UTime  time.Time
	FID    int64 // 0 when NULL
	EvCode string
	DevID  int // 0 when NULL
}

// CloseArgs are the facts create_close commits (Store.CloseFile).
type CloseArgs struct {
	FID      int64
	DomainID int
	Key      string
	DevID    int
	Length   int64
	ClassID  int    // from the tempfile row
	HashType int    // 0 when no checksum is stored
	Checksum []byte // raw digest, stored only when HashType != 0
	// Attr, when not nil, replaces the key's mogfs_attr row in the same
	// transaction (create_close's attr_* extension arguments); its
	// DomainID and Path are taken from DomainID and Key.
	Attr *Attr
}

// Attr is the POSIX view of a key or directory that the original protocol
// cannot hold; it lives in the extension table mogfs_attr. Zero values mean
// "not recorded" and the mount uses its defaults.
type Attr struct {
	DomainID int
	Path     string // the key, or for a directory the prefix without trailing "/"
	IsDir    bool
	Mode     uint32 // permission bits plus S_IFMT type bits (S_IFLNK for symlinks)
	UID, GID uint32
	MTime    time.Time
	CTime    time.Time
	ATime    time.Time
	Target   string // symlink target
	// Ino is the entry's inode number as the mount shows it, fixed when
	// the mount made it and kept across renames and overwrites; 0 when
	// none was recorded (the mount then uses the fid, or a hash of a
	// directory's path).
	Ino int64
	// Rdev is a device node's device number (0 otherwise).
	Rdev uint64
	// LinkKey makes the row a hard link: another name for the file stored
	// under that key (its first name), whose data, attributes and inode
	// number it shares. "" for every other row.
	LinkKey string
}

// IsSpecial reports whether the attributes are those of a special file (a
// fifo, socket or device node): an entry that exists in mogfs_attr only,
// with no key, listed and looked up like a file.
func (a Attr) IsSpecial() bool {
	switch a.Mode & 0o170000 {
	case 0o010000, 0o020000, 0o060000, 0o140000:
		return !a.IsDir
	}
	return false
}

// listKey is the dirkey column of a row: where a listing's walk over
// mogfs_attr finds it. A directory's path with a trailing "/" (the place
// of the keys below it), a special file's or a hard link's path, NULL for
// the attributes of a key (the walk over file lists those).
func (a Attr) listKey() any {
	switch {
	case a.IsDir:
		return DirKey(a.Path)
	case a.IsSpecial() || a.LinkKey != "":
		return a.Path
	}
	return nil
}
