// Package fusefs is the go-fuse adapter of the mogfs mount: one node type
// implementing the fs.Node* interfaces (a compile-time assertion above each
// method), one file-handle type, errno.go (the only place Go errors become
// errnos: sentinels and tracker codes mapped, everything else EIO plus a log
// line), and Run, which mounts and serves until the context ends or the
// file system is unmounted. The file-system semantics — key ↔ name mapping,
// write sessions, listings, block reads — live in package vfs, which imports
// no FUSE library; see its doc for the model.
//
// Writes: open for writing attaches the inode to a vfs.Session (a staging
// file under cache_dir); every close(2) (FUSE flush) and fsync uploads a
// changed file with client.StoreReaderAt and the mount's class, so upload
// errors come back from close as EIO or ENOSPC. A changed file gets a new
// fid. Reads go through the block cache by fid, which was re-read at open
// (close-to-open).
//
// Hard links are EPERM, renames across domains EXDEV, extension-only
// features on a stock tracker EOPNOTSUPP. Directories made on a stock
// tracker are mount-local until a key is stored under them (see vfs).
package fusefs
