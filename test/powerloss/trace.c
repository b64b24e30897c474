/*
 * Power-loss tracer: an LD_PRELOAD shim that forwards every libc call by which a process changes
 * files (open/creat, write, writev, pwrite, pwritev, ftruncate, fallocate, fsync, fdatasync, sync,
 * syncfs here; rename, unlink, rmdir, mkdir, link, truncate, dup in trace-ns.c) to the real
 * function and, for files under POWERLOSS_ROOT, appends a record of it to POWERLOSS_TRACE: what
 * changed, with the bytes written (all-zero writes as their length only). The replayer
 * (test/powerloss/replay.ts) rebuilds from the records what a power cut at any record would leave.
 *
 * Why at the libc boundary: both engines (the C++ addon and Node's libuv) reach the kernel through
 * these functions, so one shim sees both with no hook in the product. What it cannot see:
 * io_uring (Node runs with UV_USE_IO_URING=0), stores through shared mappings (the store maps its
 * files read-only), and calls it does not wrap (sync_file_range, which makes nothing durable;
 * posix_fallocate, copy_file_range, sendfile: unused on a store's files). Raw syscall() calls are
 * wrapped only to be recorded as RAW, so that the replayer refuses such a trace. Whatever was
 * missed would still show: the test compares the trace replayed to its end with the real files.
 *
 * Syncs are recorded twice, at the start (what the sync covers: everything recorded before it)
 * and at the end (when that became durable). Every record is written before the call returns to
 * the caller, so a write the product orders before a sync, or an acknowledgement it orders after
 * one, is also before or after it in the trace. POWERLOSS_DROP_SYNC_GLOB (fnmatch over the path)
 * marks matching fsync/fdatasync calls as dropped: they still run, but the replayer ignores them,
 * which models a product without that sync.
 */
#include "trace.h"

#include <fnmatch.h>

REAL(int, open, const char*, int, ...)
REAL(int, open64, const char*, int, ...)
REAL(int, openat, int, const char*, int, ...)
REAL(int, openat64, int, const char*, int, ...)
REAL(int, close, int)
REAL(ssize_t, write, int, const void*, size_t)
REAL(ssize_t, writev, int, const struct iovec*, int)
REAL(ssize_t, pwrite, int, const void*, size_t, off_t)
REAL(ssize_t, pwrite64, int, const void*, size_t, off_t)
REAL(ssize_t, pwritev, int, const struct iovec*, int, off_t)
REAL(ssize_t, pwritev64, int, const struct iovec*, int, off_t)
REAL(ssize_t, pwritev2, int, const struct iovec*, int, off_t, int)
REAL(ssize_t, pwritev64v2, int, const struct iovec*, int, off_t, int)
REAL(int, ftruncate, int, off_t)
REAL(int, ftruncate64, int, off_t)
REAL(int, fallocate, int, int, off_t, off_t)
REAL(int, fallocate64, int, int, off_t, off_t)
REAL(int, fsync, int)
REAL(int, fdatasync, int)
REAL(void, sync, void)
REAL(int, syncfs, int)

HIDDEN char* fd_paths[MAX_FD];
HIDDEN pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
HIDDEN int trace_fd = -1;
static char root[4096];
static size_t root_len;
static const char* drop_glob;

__attribute__((constructor)) static void init(void) {
  const char* r = getenv("POWERLOSS_ROOT");
  const char* t = getenv("POWERLOSS_TRACE");
  if (!r || !t || strlen(r) >= sizeof root) return;
  strcpy(root, r);
  root_len = strlen(root);
  while (root_len > 1 && root[root_len - 1] == '/') root[--root_len] = 0;
  drop_glob = getenv("POWERLOSS_DROP_SYNC_GLOB");
  trace_fd = get_open()(t, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* The absolute form of `path` (relative to `dirfd`) in `out`; 0 when it cannot be known. */
int absolute(int dirfd, const char* path, char* out, size_t size) {
  if (!path) return 0;
  if (path[0] == '/') return snprintf(out, size, "%s", path) < (int)size;
  if (dirfd == AT_FDCWD) {
    char cwd[4096];
    if (!getcwd(cwd, sizeof cwd)) return 0;
    return snprintf(out, size, "%s/%s", cwd, path) < (int)size;
  }
  if (dirfd < 0 || dirfd >= MAX_FD || !fd_paths[dirfd]) return 0;
  return snprintf(out, size, "%s/%s", fd_paths[dirfd], path) < (int)size;
}

int under_root(const char* p) {
  return trace_fd >= 0 && strncmp(p, root, root_len) == 0 &&
         (p[root_len] == '/' || p[root_len] == 0);
}

int tracked(int fd) { return trace_fd >= 0 && fd >= 0 && fd < MAX_FD && fd_paths[fd]; }

static int all_zero(const struct iovec* iov, int n, size_t total) {
  for (int i = 0; i < n && total > 0; i++) {
    const unsigned char* b = iov[i].iov_base;
    size_t len = iov[i].iov_len < total ? iov[i].iov_len : total;
    for (size_t k = 0; k < len; k++)
      if (b[k]) return 0;
    total -= len;
  }
  return 1;
}

/* Appends one record; the caller holds `trace_lock`. Data come from `iov`, cut to `rec->length`. */
void emit(struct record* rec, const char* p1, const char* p2, const struct iovec* iov, int n) {
  rec->magic = 0x52544c50; /* "PLTR" */
  rec->pid = (uint32_t)getpid();
  rec->tid = (uint32_t)gettid();
  rec->path_len = p1 ? (uint32_t)strlen(p1) : 0;
  rec->path2_len = p2 ? (uint32_t)strlen(p2) : 0;
  rec->zero = iov && all_zero(iov, n, rec->length);
  rec->data_len = iov && !rec->zero ? (uint32_t)rec->length : 0;
  size_t total = sizeof *rec + rec->path_len + rec->path2_len + rec->data_len;
  char *buf = malloc(total), *at = buf;
  if (!buf) abort();
  memcpy(at, rec, sizeof *rec), at += sizeof *rec;
  if (p1) memcpy(at, p1, rec->path_len), at += rec->path_len;
  if (p2) memcpy(at, p2, rec->path2_len), at += rec->path2_len;
  for (int i = 0, left = (int)rec->data_len; i < n && left > 0; i++) {
    size_t len = iov[i].iov_len < (size_t)left ? iov[i].iov_len : (size_t)left;
    memcpy(at, iov[i].iov_base, len), at += len, left -= (int)len;
  }
  for (size_t done = 0; done < total;) {
    ssize_t w = get_write()(trace_fd, buf + done, total - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) abort(); /* a trace with a hole would replay wrongly: fail loudly */
    done += (size_t)w;
  }
  free(buf);
}

void set_path(int fd, const char* p) {
  if (fd < 0 || fd >= MAX_FD) return;
  free(fd_paths[fd]);
  fd_paths[fd] = p ? strdup(p) : NULL;
}

static int after_open(int dirfd, const char* path, int flags, mode_t mode, int fd) {
  int saved = errno;
  char p[4096];
  if (fd >= 0 && trace_fd >= 0 && absolute(dirfd, path, p, sizeof p) && under_root(p)) {
    pthread_mutex_lock(&trace_lock);
    struct record rec = {
        .op = OP_OPEN, .fd = fd, .result = fd, .flags = (uint32_t)flags, .mode = mode};
    emit(&rec, p, NULL, NULL, 0);
    set_path(fd, p);
    pthread_mutex_unlock(&trace_lock);
  }
  errno = saved;
  return fd;
}

static mode_t mode_arg(int flags, va_list ap) {
  return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? va_arg(ap, mode_t) : 0;
}

#define OPEN_LIKE(name)                                                              \
  int name(const char* path, int flags, ...) {                                       \
    va_list ap;                                                                      \
    va_start(ap, flags);                                                             \
    mode_t mode = mode_arg(flags, ap);                                               \
    va_end(ap);                                                                      \
    return after_open(AT_FDCWD, path, flags, mode, get_##name()(path, flags, mode)); \
  }
OPEN_LIKE(open)
OPEN_LIKE(open64)
#define OPENAT_LIKE(name)                                                                \
  int name(int dirfd, const char* path, int flags, ...) {                                \
    va_list ap;                                                                          \
    va_start(ap, flags);                                                                 \
    mode_t mode = mode_arg(flags, ap);                                                   \
    va_end(ap);                                                                          \
    return after_open(dirfd, path, flags, mode, get_##name()(dirfd, path, flags, mode)); \
  }
OPENAT_LIKE(openat)
OPENAT_LIKE(openat64)
/* The _FORTIFY_SOURCE entry points, for callers built with it. */
int __open_2(const char* path, int flags) { return open(path, flags); }
int __open64_2(const char* path, int flags) { return open64(path, flags); }
int __openat_2(int dirfd, const char* path, int flags) { return openat(dirfd, path, flags); }
int __openat64_2(int dirfd, const char* path, int flags) { return openat64(dirfd, path, flags); }
int creat(const char* path, mode_t mode) { return open(path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char* path, mode_t mode) {
  return open64(path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int close(int fd) {
  if (!tracked(fd)) return get_close()(fd);
  /* Held across the close, so the number is not reused before the record is written. */
  pthread_mutex_lock(&trace_lock);
  int r = get_close()(fd);
  int saved = errno;
  struct record rec = {.op = OP_CLOSE, .fd = fd, .result = r < 0 ? -saved : r};
  emit(&rec, fd_paths[fd], NULL, NULL, 0);
  set_path(fd, NULL);
  pthread_mutex_unlock(&trace_lock);
  errno = saved;
  return r;
}

/* Records `r` bytes written from `iov` at `offset` (-1: at the position the write ended before). */
static ssize_t after_write(int fd, const struct iovec* iov, int n, off_t offset, ssize_t r) {
  if (r <= 0 || !tracked(fd)) return r;
  int saved = errno;
  if (offset < 0) offset = lseek(fd, 0, SEEK_CUR) - r;
  pthread_mutex_lock(&trace_lock);
  struct record rec = {
      .op = OP_WRITE, .fd = fd, .result = r, .offset = offset, .length = (uint64_t)r};
  emit(&rec, fd_paths[fd], NULL, iov, n);
  pthread_mutex_unlock(&trace_lock);
  errno = saved;
  return r;
}

ssize_t write(int fd, const void* b, size_t n) {
  struct iovec v = {(void*)b, n};
  return after_write(fd, &v, 1, -1, get_write()(fd, b, n));
}
ssize_t writev(int fd, const struct iovec* v, int n) {
  return after_write(fd, v, n, -1, get_writev()(fd, v, n));
}
#define PWRITE_LIKE(name)                                        \
  ssize_t name(int fd, const void* b, size_t n, off_t o) {       \
    struct iovec v = {(void*)b, n};                              \
    return after_write(fd, &v, 1, o, get_##name()(fd, b, n, o)); \
  }
PWRITE_LIKE(pwrite)
PWRITE_LIKE(pwrite64)
ssize_t pwritev(int fd, const struct iovec* v, int n, off_t o) {
  return after_write(fd, v, n, o, get_pwritev()(fd, v, n, o));
}
ssize_t pwritev64(int fd, const struct iovec* v, int n, off_t o) {
  return after_write(fd, v, n, o, get_pwritev64()(fd, v, n, o));
}
ssize_t pwritev2(int fd, const struct iovec* v, int n, off_t o, int f) {
  return after_write(fd, v, n, o, get_pwritev2()(fd, v, n, o, f));
}
ssize_t pwritev64v2(int fd, const struct iovec* v, int n, off_t o, int f) {
  return after_write(fd, v, n, o, get_pwritev64v2()(fd, v, n, o, f));
}

/* Records an fd-based call that changes size or durability, after it returned `r`. */
static int after_fd_op(uint32_t op, int fd, int64_t offset, uint64_t length, uint32_t flags,
                       int r) {
  if (!tracked(fd)) return r;
  int saved = errno;
  pthread_mutex_lock(&trace_lock);
  struct record rec = {.op = op,
                       .fd = fd,
                       .result = r < 0 ? -saved : r,
                       .offset = offset,
                       .length = length,
                       .flags = flags};
  emit(&rec, fd_paths[fd], NULL, NULL, 0);
  pthread_mutex_unlock(&trace_lock);
  errno = saved;
  return r;
}

int ftruncate(int fd, off_t len) {
  return after_fd_op(OP_TRUNC, fd, len, 0, 0, get_ftruncate()(fd, len));
}
int ftruncate64(int fd, off_t len) {
  return after_fd_op(OP_TRUNC, fd, len, 0, 0, get_ftruncate64()(fd, len));
}
int fallocate(int fd, int mode, off_t o, off_t len) {
  return after_fd_op(OP_FALLOCATE, fd, o, (uint64_t)len, (uint32_t)mode,
                     get_fallocate()(fd, mode, o, len));
}
int fallocate64(int fd, int mode, off_t o, off_t len) {
  return after_fd_op(OP_FALLOCATE, fd, o, (uint64_t)len, (uint32_t)mode,
                     get_fallocate64()(fd, mode, o, len));
}
/* flags: 1 fsync, 2 fdatasync, 4 dropped by POWERLOSS_DROP_SYNC_GLOB. */
static int traced_sync(int fd, int data_only) {
  int (*real)(int) = data_only ? get_fdatasync() : get_fsync();
  if (!tracked(fd)) return real(fd);
  pthread_mutex_lock(&trace_lock);
  const char* p = fd_paths[fd];
  uint32_t flags = (data_only ? 2 : 1) | (p && drop_glob && fnmatch(drop_glob, p, 0) == 0 ? 4 : 0);
  pthread_mutex_unlock(&trace_lock);
  after_fd_op(OP_SYNC_BEGIN, fd, 0, 0, flags, 0);
  return after_fd_op(OP_SYNC_END, fd, 0, 0, flags, real(fd));
}
int fsync(int fd) { return traced_sync(fd, 0); }
int fdatasync(int fd) { return traced_sync(fd, 1); }

static void sync_all(uint32_t op, int r) {
  if (trace_fd < 0) return;
  pthread_mutex_lock(&trace_lock);
  struct record rec = {.op = op, .result = r};
  emit(&rec, NULL, NULL, NULL, 0);
  pthread_mutex_unlock(&trace_lock);
}
void sync(void) {
  sync_all(OP_SYNC_ALL_BEGIN, 0);
  get_sync()();
  sync_all(OP_SYNC_ALL_END, 0);
}
int syncfs(int fd) {
  sync_all(OP_SYNC_ALL_BEGIN, 0);
  int r = get_syncfs()(fd);
  sync_all(OP_SYNC_ALL_END, r);
  return r;
}
