// Package stord is the mogfs storage node, a drop-in replacement for
// MogileFS's mogstored (with its default Perlbal HTTP engine).
//
// A node serves a docroot holding one directory per device, devN. It has
// three parts:
//
//   - The HTTP data port (Handler, default :7500): GET/HEAD with ranges,
//     PUT (temp file, fsync, size and Content-MD5 check, rename, directory
//     fsync; or an in-place write at the offset of "Content-Range: bytes
//     a-b/*"), DELETE (204), MKCOL (201, also for existing directories).
//     Every path is validated by nodeproto.ParsePath and every file operation goes
//     through an os.Root opened on docroot/devN, so nothing outside a device
//     directory is ever touched, symlinks included. Errors become HTTP
//     statuses in one place, statusFor.
//   - The management side channel (default :7501): a line protocol with
//     "size <uri>", "MD5 <uri>", "SHA-1 <uri>" and "watch", which streams
//     per-device I/O utilisation computed from /proc/diskstats.
//   - The usage writer: every 10 s each devN/usage file is rewritten
//     atomically from statfs, in mogstored's "key: value" format (KiB). The
//     data port answers GET /devN/usage, which the tracker's monitor fetches
//     every round, from statfs at that moment rather than from the file
//     (serveUsage), with "readonly: 1" when the file system is mounted
//     read-only: a full or read-only device, where the file cannot be
//     rewritten, shows as such at the tracker's next round.
//
// A device fault is a status, never a partial file: a PUT that meets a
// full or read-only file system (ENOSPC, EDQUOT, EROFS) answers 507 and
// removes what it wrote, one to a missing device directory answers 404
// "Base directory does not exist"; the client then tries its next
// destination.
//
// With metrics_listen set (a mogfs extension; mogstored has no such
// option) the node also serves Prometheus metrics at /metrics on that
// address: requests by method and status, body bytes in and out, request
// durations, plus the Go runtime and process collectors (see package
// metrics). It is off by default.
//
// With storage_secret set (a mogfs extension, sign.go) the data port
// refuses, with 403, writes whose URL does not carry a tracker's signature
// (nodeproto's signed URLs), and with sign_reads reads as well. The side
// channel is not guarded: it serves no file contents and belongs on the
// trackers' network.
//
// The node knows nothing of fids or the database: the tracker chooses paths
// (/devN/B/MMM/TTT/FFFFFFFFFF.fid) and the node stores bytes there.
package stord
