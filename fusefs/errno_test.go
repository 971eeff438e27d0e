package fusefs

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"syscall"
	"testing"

	"mogfs/client"
	"mogfs/fusefs/vfs"
	"mogfs/protocol"
)

func TestToErrno(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, tc := range []struct {
		err  error
		want syscall.Errno
	}{
		{nil, 0},
		{vfs.ErrNotFound, syscall.ENOENT},
		{fmt.Errorf("rmdir x: %w", vfs.ErrNotEmpty), syscall.ENOTEMPTY},
		{vfs.ErrNotSupported, syscall.EOPNOTSUPP},
		{vfs.ErrCrossDomain, syscall.EXDEV},
		{fmt.Errorf("%w: %v", vfs.ErrNoSpace, protocol.Err("no_devices")), syscall.ENOSPC},
		{protocol.Err("no_devices"), syscall.ENOSPC},
		{fmt.Errorf("store: %w", protocol.Err("unknown_key")), syscall.ENOENT},
		{protocol.Err("key_exists"), syscall.EEXIST},
		{protocol.Err("unreg_class"), syscall.EINVAL},
		{protocol.Err("db"), syscall.EIO},
		{syscall.EXDEV, syscall.EXDEV},
		{fmt.Errorf("wrapped: %w", syscall.ENAMETOOLONG), syscall.ENAMETOOLONG},
		{vfs.ErrBadName, syscall.EINVAL},
		{vfs.ErrNoAttr, syscall.ENODATA},
		{vfs.ErrPermission, syscall.EPERM},
		{vfs.ErrReadOnly, syscall.EROFS},
		{context.Canceled, syscall.EINTR},
		{client.ErrNoTrackers, syscall.EIO},
		// A refused connection is the cluster failing, never ECONNREFUSED.
		{fmt.Errorf("%w: create_close: %w", client.ErrNoTrackers, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), syscall.EIO},
		{fmt.Errorf("put: %w", &net.OpError{Op: "read", Err: syscall.ECONNRESET}), syscall.EIO},
		{fmt.Errorf("anything else"), syscall.EIO},
	} {
		if got := toErrno(log, "test", tc.err); got != tc.want {
			t.Errorf("toErrno(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
