// Package vfs is the file-system semantics of the mogfs mount, with no FUSE
// import: the key ↔ path mapping, the write (upload) session state machine,
// block reads through the cache, directory listings paged through
// mogfs_list, and the POSIX operations expressed as tracker commands. The
// go-fuse adapter in package fusefs is a thin layer over it, so most of the
// mount's behaviour is tested without /dev/fuse.
//
// # Keys and paths
//
// Without -o domain= the root lists the domains and each domain is a
// directory; with it the root is that domain. Inside a domain, "/" in a key
// is a directory level: key "photos/2024/a.jpg" is file a.jpg in directory
// photos/2024. Directories exist implicitly while a key lies under them, and
// explicitly (empty directories, modes, times) as mogfs_attr rows with
// isdir=1.
//
// # Directories on a stock tracker
//
// A stock MogileFS tracker (no mogfs extension) has nowhere to store an
// empty directory. There, as rclone does for bucket remotes, mkdir makes a
// mount-local directory: it is kept in this mount's memory only, listed in
// its parent, and usable as a parent for creates, mkdir and rename, so
// cp -r, mkdir -p and tar -x work. It becomes a real (key-prefix) directory
// as soon as a key is stored under it. One that is still empty when the
// file system is unmounted is gone; other mounts and clients never see
// it. A mount-local directory stays in this mount after its last file is
// removed, until rmdir. It has no stored mode, owner or times (chmod is
// EOPNOTSUPP there, as for every entry).
//
// Some keys contain segments that cannot be file names: the empty segment
// (a key starting with "/", a "//" run, a trailing "/"), "." and "..",
// segments with NUL, and segments longer than 255 bytes. Such a segment
// appears under a reserved escaped name starting with ".mogfs%":
//
//	""        → ".mogfs%"        (so key "a/" is file ".mogfs%" in dir a)
//	"."       → ".mogfs%%2E"
//	".."      → ".mogfs%%2E%2E"
//	"a\x00b"  → ".mogfs%a%00b"   ('%', NUL are percent-escaped)
//	".mogfs%x"→ ".mogfs%.mogfs%25x" (a literal use of the prefix is escaped too)
//	300 bytes → ".mogfs%long-<32 hex of sha256>-<readable head>"
//
// Every other segment — including ones with '%' or spaces — appears as it
// is, so copying a tree in and out is the identity. A name starting with
// ".mogfs%" addresses the segment it decodes to: `cat "d/.mogfs%%2E"` reads
// key "d/.", and creating ".mogfs%" in d creates key "d/". A long name is
// resolved by listing the names of its directory that start with the same
// head and matching the hash. A name that starts with the prefix but is not
// the canonical escape of a segment is EINVAL, so every key has exactly one
// name.
//
// A key that is both a file and a directory prefix ("a" and "a/b") is
// ambiguous: a lookup of "a" finds the file (a listing names it once, as
// the file), and the keys under "a/" stay reachable through the client
// tools only.
//
// # Directories of any size
//
// Nothing here lists a directory to answer for one name: Lookup is one
// mogfs_lookup (indexed point queries on the tracker), and a directory is
// read through a DirReader, a page of DirPage entries per mogfs_list, one
// page held per open directory. The entries of the page just read answer
// READDIRPLUS's lookups, so ls -l costs a round trip per page. Only a name
// too long for the kernel (see below) is found by listing, and then only
// the names that share its head.
//
// # Consistency
//
// Attributes and entries are cached in the kernel for attr_timeout and
// entry_timeout, and so is the absence of a name (a negative entry). In a
// directory this mount made less than entry_timeout ago, a name it has not
// made is known absent without a lookup (fresh.go). Opening a file re-reads
// its fid from the tracker (close-to-open), so a change made through another
// mount or client is seen by the next open. A fid's bytes never change, so
// cached blocks never need invalidation.
//
// # The data path
//
// A write session stages the content under cache_dir (session.go); a
// content written from offset 0 also streams to a storage node as it grows
// (client.Stream), and close stores it with create_close on a create_open
// made ahead (openpool.go, upload.go). With -o writeback, close queues the
// content durably instead and workers upload it (writeback.go). Reads go
// through the block cache with a readahead window that grows with a stream,
// or as one ranged GET for a random read (reader.go).
package vfs
