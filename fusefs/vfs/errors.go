package vfs

import "errors"

// Sentinel errors of the file-system layer. fusefs/errno.go maps each to an
// errno; the doc says which.
var (
	// ErrBadName is returned for a file name using the reserved
	// EscapePrefix that is not a valid escape (EINVAL).
	ErrBadName = errors.New("vfs: invalid escaped name")
	// ErrNotFound is returned when a key or directory does not exist (ENOENT).
	ErrNotFound = errors.New("vfs: not found")
	// ErrExists is returned when creating something that exists (EEXIST).
	ErrExists = errors.New("vfs: exists")
	// ErrNotEmpty is returned by Rmdir and directory Rename onto a
	// directory that still has entries (ENOTEMPTY).
	ErrNotEmpty = errors.New("vfs: directory not empty")
	// ErrNotSupported is returned for operations that need the mogfs
	// tracker extension when the tracker is a stock MogileFS one, and for
	// xattrs we do not keep (EOPNOTSUPP).
	ErrNotSupported = errors.New("vfs: not supported by this tracker")
	// ErrCrossDomain is returned by Rename between domains (EXDEV).
	ErrCrossDomain = errors.New("vfs: rename across domains")
	// ErrNoSpace is returned by an upload the tracker refused for lack of
	// writable devices (ENOSPC).
	ErrNoSpace = errors.New("vfs: no space on any device")
	// ErrReadOnly is returned for writes on a read-only mount (EROFS).
	ErrReadOnly = errors.New("vfs: read-only mount")
	// ErrNoAttr is returned by GetXattr for a name we do not have (ENODATA).
	ErrNoAttr = errors.New("vfs: no such attribute")
	// ErrPermission is returned for operations MogileFS cannot represent,
	// such as hard links (EPERM).
	ErrPermission = errors.New("vfs: operation not permitted")
	// ErrIsDir is returned when a file operation names a directory (EISDIR).
	ErrIsDir = errors.New("vfs: is a directory")
	// ErrNotDir is returned when a directory operation names a file (ENOTDIR).
	ErrNotDir = errors.New("vfs: not a directory")
)
