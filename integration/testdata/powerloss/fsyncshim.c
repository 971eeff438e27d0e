// fsyncshim: an LD_PRELOAD library that keeps, beside a SQLite database,
// what a power cut would leave of it. TestPowerLoss compiles it with gcc and
// loads it into trackerd.
//
// Model. After a power cut a file holds what was in it at its last
// fsync/fdatasync; writes since then are lost. So on every fsync or
// fdatasync of the database, its -wal or its -journal, the shim copies the
// file's whole current content to PATH.durable (an "image"), before the
// sync returns to SQLite and so before the commit it makes durable can be
// acknowledged. At any instant the set of images is what would survive. The -shm file is not durable
// state (SQLite rebuilds it from the WAL) and is not tracked. Directory
// entries are approximated: a file's name is taken as durable from its
// first sync, and an unlink as durable at once (its image is removed).
// A real disk may also keep some unsynced writes, in any order, or tear
// one; those states are not modelled (SQLite's WAL checksums are there for
// them).
//
// Atomicity. Images change only while the shim holds an exclusive flock on
// DB.durable.lock; the test takes the same lock while it copies the images,
// so a copy never sees one file's image from before a sync and another's
// from after it. Each publication opens the lock file anew: flock locks
// belong to the open file description, so two threads of trackerd exclude
// each other that way too.
//
// Calls. Only open/open64/openat/openat64 (to learn which descriptor is
// which file), close, fsync, fdatasync, unlink and unlinkat are wrapped; the
// real work is done with raw syscall(2), so the shim never calls back into
// itself or takes a libc lock. Writes are not wrapped: an image is copied
// from the file at sync time. Sync calls the model does not cover
// (sync_file_range, syncfs, sync, O_SYNC/O_DSYNC opens of a tracked file)
// are logged, and the test fails if SQLite makes any.
//
// Environment: MOGFS_POWERLOSS_DB is the database's absolute path (unset:
// the shim does nothing); MOGFS_POWERLOSS_LOG, if set, is a file that gets
// one line per sync call, "<call> <file>", with file one of db, wal,
// journal, dir (the database's directory) or other.
#define _GNU_SOURCE
#undef _FORTIFY_SOURCE // its inline open() would clash with ours
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { K_NONE, K_DB, K_WAL, K_JOURNAL, K_DIR, K_N };
static const char *const kind_name[K_N] = {"other", "db", "wal", "journal", "dir"};
static const char *const kind_suffix[K_N] = {"", "", "-wal", "-journal", ""};

#define MAXFD 65536
#define PATHMAX 4096

// kinds maps a descriptor to the file it was opened on (K_NONE when not one
// of ours). Accessed with atomics: threads open, sync and close at once.
static unsigned char kinds[MAXFD];

static char db[PATHMAX];       // MOGFS_POWERLOSS_DB; "" when off
static size_t dblen;
static char dir[PATHMAX];      // db's directory
static char lockpath[PATHMAX]; // db.durable.lock
static int logfd = -1;

// cat builds a + b + c into out (size PATHMAX); 0 if it does not fit.
static int cat(char *out, const char *a, const char *b, const char *c) {
	size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
	if (la + lb + lc + 1 > PATHMAX)
		return 0;
	memcpy(out, a, la);
	memcpy(out + la, b, lb);
	memcpy(out + la + lb, c, lc + 1);
	return 1;
}

static void logline(const char *call, int kind) {
	char line[64];
	if (logfd < 0 || !cat(line, call, " ", kind_name[kind]))
		return;
	size_t n = strlen(line);
	line[n] = '\n';
	syscall(SYS_write, logfd, line, n + 1);
}

__attribute__((constructor)) static void init(void) {
	const char *p = getenv("MOGFS_POWERLOSS_DB");
	if (p == NULL || p[0] != '/' || !cat(db, p, "", "") || !cat(lockpath, p, ".durable.lock", ""))
		return;
	dblen = strlen(db);
	memcpy(dir, db, dblen + 1);
	*strrchr(dir, '/') = 0;
	const char *l = getenv("MOGFS_POWERLOSS_LOG");
	if (l != NULL)
		logfd = syscall(SYS_openat, AT_FDCWD, l, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

static int classify(const char *path) {
	if (dblen == 0 || path == NULL)
		return K_NONE;
	if (strcmp(path, dir) == 0)
		return K_DIR;
	if (strncmp(path, db, dblen) != 0)
		return K_NONE;
	for (int k = K_DB; k <= K_JOURNAL; k++)
		if (strcmp(path + dblen, kind_suffix[k]) == 0)
			return k;
	return K_NONE;
}

// classify_at is classify for a path relative to dirfd: only absolute paths
// and paths relative to the working directory are recognised (SQLite opens
// absolute paths).
static int classify_at(int dirfd, const char *path) {
	if (path == NULL || (dirfd != AT_FDCWD && path[0] != '/'))
		return K_NONE;
	return classify(path);
}

static int kind_of(int fd) {
	if (fd < 0 || fd >= MAXFD)
		return K_NONE;
	return __atomic_load_n(&kinds[fd], __ATOMIC_ACQUIRE);
}

static void track(int fd, int dirfd, const char *path, int flags) {
	int k = classify_at(dirfd, path);
	if (fd < 0 || k == K_NONE)
		return;
	if (fd >= MAXFD) {
		logline("untracked-fd", k);
		return;
	}
	if (k != K_DIR && (flags & (O_SYNC | O_DSYNC)))
		logline("osync-open", k);
	__atomic_store_n(&kinds[fd], (unsigned char)k, __ATOMIC_RELEASE);
}

// lock takes the publication lock; it returns the lock's descriptor (its
// close releases the lock), or -1.
static int lock(void) {
	int fd = syscall(SYS_openat, AT_FDCWD, lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	while (syscall(SYS_flock, fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			syscall(SYS_close, fd);
			return -1;
		}
	}
	return fd;
}

// copy copies in[0, size) to out from offset 0 and returns how many bytes
// it copied (less than size if in shrank meanwhile), or -1.
static loff_t copy(int in, int out, loff_t size) {
	loff_t in_off = 0, out_off = 0;
	while (in_off < size) {
		long n = syscall(SYS_copy_file_range, in, &in_off, out, &out_off, (size_t)(size - in_off), 0);
		if (n > 0)
			continue;
		if (n == 0)
			return out_off;
		if (errno == EINTR)
			continue;
		if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
			return -1;
		break; // no in-kernel copy between these files: read and write
	}
	char buf[65536];
	while (in_off < size) {
		long r = syscall(SYS_pread64, in, buf, sizeof buf, in_off);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (long w = 0; w < r;) {
			long m = syscall(SYS_pwrite64, out, buf + w, (size_t)(r - w), out_off);
			if (m < 0 && errno == EINTR)
				continue;
			if (m <= 0)
				return -1;
			w += m;
			out_off += m;
		}
		in_off += r;
	}
	return out_off;
}

// publish copies the file open on fd (of kind k) to its image. The image is
// rewritten in place under the lock rather than renamed into place: readers
// take the lock anyway, and replacing a file by rename makes ext4 start
// writing the new one out each time (auto_da_alloc), hundreds of times a
// second here.
static void publish(int fd, int k) {
	char img[PATHMAX];
	if (!cat(img, db, kind_suffix[k], ".durable"))
		return;
	int saved = errno;
	int lk = lock();
	int out = lk < 0 ? -1 : syscall(SYS_openat, AT_FDCWD, img, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	struct stat st;
	loff_t n = -1;
	if (out >= 0 && syscall(SYS_fstat, fd, &st) == 0)
		n = copy(fd, out, st.st_size);
	// Cut the image to what was copied: it never keeps an old, longer tail.
	if (n < 0 || syscall(SYS_ftruncate, out, n) != 0)
		logline("publish-failed", k);
	if (out >= 0)
		syscall(SYS_close, out);
	if (lk >= 0)
		syscall(SYS_close, lk);
	errno = saved;
}

// unpublish removes the image of a file of kind k that was unlinked.
static void unpublish(int k) {
	char img[PATHMAX];
	if (!cat(img, db, kind_suffix[k], ".durable"))
		return;
	int saved = errno;
	int lk = lock();
	syscall(SYS_unlinkat, AT_FDCWD, img, 0);
	if (lk >= 0)
		syscall(SYS_close, lk);
	errno = saved;
}

static int sync_and_publish(const char *call, int fd, long nr) {
	int k = kind_of(fd);
	int rc = syscall(nr, fd);
	int saved = errno;
	logline(call, k);
	if (rc == 0 && k != K_NONE && k != K_DIR)
		publish(fd, k);
	errno = saved;
	return rc;
}

int fsync(int fd) { return sync_and_publish("fsync", fd, SYS_fsync); }
int fdatasync(int fd) { return sync_and_publish("fdatasync", fd, SYS_fdatasync); }

static int do_openat(int dirfd, const char *path, int flags, va_list ap) {
	mode_t mode = 0;
	if (flags & (O_CREAT | O_TMPFILE))
		mode = va_arg(ap, mode_t);
	int fd = syscall(SYS_openat, dirfd, path, flags, mode);
	track(fd, dirfd, path, flags);
	return fd;
}

int open(const char *path, int flags, ...) {
	va_list ap;
	va_start(ap, flags);
	int fd = do_openat(AT_FDCWD, path, flags, ap);
	va_end(ap);
	return fd;
}

int open64(const char *path, int flags, ...) {
	va_list ap;
	va_start(ap, flags);
	int fd = do_openat(AT_FDCWD, path, flags, ap);
	va_end(ap);
	return fd;
}

int openat(int dirfd, const char *path, int flags, ...) {
	va_list ap;
	va_start(ap, flags);
	int fd = do_openat(dirfd, path, flags, ap);
	va_end(ap);
	return fd;
}

int openat64(int dirfd, const char *path, int flags, ...) {
	va_list ap;
	va_start(ap, flags);
	int fd = do_openat(dirfd, path, flags, ap);
	va_end(ap);
	return fd;
}

int close(int fd) {
	// Forget the descriptor before it can be reused by another open.
	if (fd >= 0 && fd < MAXFD)
		__atomic_store_n(&kinds[fd], K_NONE, __ATOMIC_RELEASE);
	return syscall(SYS_close, fd);
}

int unlink(const char *path) {
	int rc = syscall(SYS_unlinkat, AT_FDCWD, path, 0);
	int k = classify_at(AT_FDCWD, path);
	if (rc == 0 && k != K_NONE && k != K_DIR)
		unpublish(k);
	return rc;
}

int unlinkat(int dirfd, const char *path, int flags) {
	int rc = syscall(SYS_unlinkat, dirfd, path, flags);
	int k = classify_at(dirfd, path);
	if (rc == 0 && k != K_NONE && k != K_DIR)
		unpublish(k);
	return rc;
}

// Sync calls outside the model: logged so that the test notices them.
int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags) {
	logline("sync_file_range", kind_of(fd));
	return syscall(SYS_sync_file_range, fd, off, n, flags);
}

int syncfs(int fd) {
	logline("syncfs", kind_of(fd));
	return syscall(SYS_syncfs, fd);
}

void sync(void) {
	logline("sync", K_NONE);
	syscall(SYS_sync);
}
