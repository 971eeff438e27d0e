package fusefs

import (
	"context"
	"strings"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"

	"mogfs/fusefs/vfs"
)

func (n *node) isFile() bool {
	return n.role == roleEntry && !n.IsRoot() && n.StableAttr().Mode == syscall.S_IFREG
}

var _ = (fs.NodeGetxattrer)((*node)(nil))

// Getxattr returns one of the user.mogilefs.* attributes of a stored file.
func (n *node) Getxattr(ctx context.Context, attr string, dest []byte) (_ uint32, errno syscall.Errno) {
	defer n.m.observe("getxattr", time.Now(), &errno)
	ctx = uninterrupted(ctx) // its syscall is not restarted after EINTR
	if !strings.HasPrefix(attr, "user.") {
		// No ACLs, security labels or trusted attributes: "not
		// supported" (not "no such attribute"), which tools such as
		// ls -l remember for the whole file system instead of asking
		// again for every file (two FUSE round trips a file).
		return 0, syscall.EOPNOTSUPP
	}
	if !n.isFile() {
		return 0, syscall.ENODATA
	}
	domain, key := n.fileKey()
	v, err := n.m.fs.GetXattr(ctx, domain, key, attr)
	if err != nil {
		return 0, n.m.errno("getxattr", err)
	}
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}

var _ = (fs.NodeSetxattrer)((*node)(nil))

// Setxattr changes the class (user.mogilefs.class); others are EOPNOTSUPP.
func (n *node) Setxattr(ctx context.Context, attr string, data []byte, flags uint32) (errno syscall.Errno) {
	defer n.m.observe("setxattr", time.Now(), &errno)
	ctx = uninterrupted(ctx) // its syscall is not restarted after EINTR
	if !n.isFile() {
		return syscall.EOPNOTSUPP
	}
	if n.m.opt.ReadOnly {
		return syscall.EROFS
	}
	domain, key := n.fileKey()
	return n.m.errno("setxattr", n.m.fs.SetXattr(ctx, domain, key, attr, data))
}

var _ = (fs.NodeRemovexattrer)((*node)(nil))

// Removexattr is not supported: the attributes describe the stored file.
func (n *node) Removexattr(ctx context.Context, attr string) (errno syscall.Errno) {
	defer n.m.observe("removexattr", time.Now(), &errno)
	return syscall.EOPNOTSUPP
}

var _ = (fs.NodeListxattrer)((*node)(nil))

// Listxattr lists the user.mogilefs.* attributes of a file.
func (n *node) Listxattr(ctx context.Context, dest []byte) (_ uint32, errno syscall.Errno) {
	defer n.m.observe("listxattr", time.Now(), &errno)
	if !n.isFile() {
		return 0, 0
	}
	v := strings.Join(vfs.XattrNames, "\x00") + "\x00"
	if len(dest) < len(v) {
		return uint32(len(v)), syscall.ERANGE
	}
	return uint32(copy(dest, v)), 0
}
