package fusefs

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"syscall"

	"mogfs/client"
	"mogfs/fusefs/vfs"
	"mogfs/protocol"
)

// sentinelErrnos maps the vfs sentinels to their errno.
var sentinelErrnos = []struct {
	err   error
	errno syscall.Errno
}{
	{vfs.ErrNotFound, syscall.ENOENT},
	{vfs.ErrExists, syscall.EEXIST},
	{vfs.ErrNotEmpty, syscall.ENOTEMPTY},
	{vfs.ErrNotSupported, syscall.EOPNOTSUPP},
	{vfs.ErrCrossDomain, syscall.EXDEV},
	{vfs.ErrNoSpace, syscall.ENOSPC},
	{vfs.ErrReadOnly, syscall.EROFS},
	{vfs.ErrNoAttr, syscall.ENODATA},
	{vfs.ErrPermission, syscall.EPERM},
	{vfs.ErrBadName, syscall.EINVAL},
	{vfs.ErrIsDir, syscall.EISDIR},
	{vfs.ErrNotDir, syscall.ENOTDIR},
	{os.ErrNotExist, syscall.ENOENT},
	{context.Canceled, syscall.EINTR},
}

// codeErrnos maps tracker error codes to errnos.
var codeErrnos = map[string]syscall.Errno{
	"unknown_key":     syscall.ENOENT,
	"key_exists":      syscall.EEXIST,
	"no_devices":      syscall.ENOSPC,
	"unreg_class":     syscall.EINVAL,
	"class_not_found": syscall.EINVAL,
	"no_class":        syscall.EINVAL,
	"unreg_domain":    syscall.ENOENT,
	"unknown_command": syscall.EOPNOTSUPP,
}

// toErrno is the one place Go errors become errnos. Anything unknown is EIO,
// with a log line saying what it was, since the caller only sees "I/O error".
func toErrno(log *slog.Logger, op string, err error) syscall.Errno {
	if err == nil {
		return 0
	}
	for _, s := range sentinelErrnos {
		if errors.Is(err, s.err) {
			return s.errno
		}
	}
	// Before any errno inside: a refused or reset connection to a tracker
	// or node is the cluster's I/O failure, not ECONNREFUSED of a file.
	if errors.Is(err, client.ErrNoTrackers) || errors.Is(err, client.ErrNoPaths) {
		log.Warn("mogfs: I/O error", "op", op, "err", err)
		return syscall.EIO
	}
	if _, ok := errors.AsType[*net.OpError](err); ok {
		log.Warn("mogfs: network error", "op", op, "err", err)
		return syscall.EIO
	}
	var pe *protocol.Error
	if errors.As(err, &pe) {
		if e, ok := codeErrnos[pe.Code]; ok {
			return e
		}
	}
	var en syscall.Errno
	if errors.As(err, &en) {
		return en
	}
	log.Error("mogfs: unmapped error, returning EIO", "op", op, "err", err)
	return syscall.EIO
}
