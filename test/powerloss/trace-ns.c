/* The tracer's namespace half: rename, unlink, rmdir, mkdir, link, truncate by path, dup, and
 * raw syscall() (see trace.c). */
#include "trace.h"

REAL(int, truncate, const char*, off_t)
REAL(int, truncate64, const char*, off_t)
REAL(int, rename, const char*, const char*)
REAL(int, renameat, int, const char*, int, const char*)
REAL(int, renameat2, int, const char*, int, const char*, unsigned)
REAL(int, unlink, const char*)
REAL(int, unlinkat, int, const char*, int)
REAL(int, rmdir, const char*)
REAL(int, mkdir, const char*, mode_t)
REAL(int, mkdirat, int, const char*, mode_t)
REAL(int, link, const char*, const char*)
REAL(int, linkat, int, const char*, int, const char*, int)
REAL(int, dup, int)
REAL(int, dup2, int, int)
REAL(int, dup3, int, int, int)
REAL(long, syscall, long, ...)

/* Records a successful namespace change of `a` (and `b`) when either lies under the root. */
static int after_path_op(uint32_t op, const char* a, const char* b, uint32_t flags, int64_t offset,
                         int r) {
  if (r < 0 || trace_fd < 0 || !((a[0] && under_root(a)) || (b && under_root(b)))) return r;
  int saved = errno;
  pthread_mutex_lock(&trace_lock);
  struct record rec = {.op = op, .result = r, .offset = offset, .flags = flags};
  emit(&rec, a, b, NULL, 0);
  if (op == OP_RENAME) { /* descriptors follow their file to its new name */
    size_t len = strlen(a);
    for (int fd = 0; fd < MAX_FD; fd++) {
      char* p = fd_paths[fd];
      if (!p || strncmp(p, a, len) != 0 || (p[len] != 0 && p[len] != '/')) continue;
      char moved[8192];
      snprintf(moved, sizeof moved, "%s%s", b, p + len);
      set_path(fd, moved);
    }
  }
  pthread_mutex_unlock(&trace_lock);
  errno = saved;
  return r;
}

#define ABS(var, dirfd, path) \
  char var[4096];             \
  if (!absolute(dirfd, path, var, sizeof var)) var[0] = 0
int rename(const char* a, const char* b) {
  ABS(pa, AT_FDCWD, a);
  ABS(pb, AT_FDCWD, b);
  return after_path_op(OP_RENAME, pa, pb, 0, 0, get_rename()(a, b));
}
int renameat(int da, const char* a, int db, const char* b) {
  ABS(pa, da, a);
  ABS(pb, db, b);
  return after_path_op(OP_RENAME, pa, pb, 0, 0, get_renameat()(da, a, db, b));
}
int renameat2(int da, const char* a, int db, const char* b, unsigned f) {
  ABS(pa, da, a);
  ABS(pb, db, b);
  return after_path_op(OP_RENAME, pa, pb, f, 0, get_renameat2()(da, a, db, b, f));
}
int unlink(const char* a) {
  ABS(pa, AT_FDCWD, a);
  return after_path_op(OP_UNLINK, pa, NULL, 0, 0, get_unlink()(a));
}
int unlinkat(int d, const char* a, int f) {
  ABS(pa, d, a);
  return after_path_op(f & AT_REMOVEDIR ? OP_RMDIR : OP_UNLINK, pa, NULL, 0, 0,
                       get_unlinkat()(d, a, f));
}
int rmdir(const char* a) {
  ABS(pa, AT_FDCWD, a);
  return after_path_op(OP_RMDIR, pa, NULL, 0, 0, get_rmdir()(a));
}
int mkdir(const char* a, mode_t m) {
  ABS(pa, AT_FDCWD, a);
  return after_path_op(OP_MKDIR, pa, NULL, m, 0, get_mkdir()(a, m));
}
int mkdirat(int d, const char* a, mode_t m) {
  ABS(pa, d, a);
  return after_path_op(OP_MKDIR, pa, NULL, m, 0, get_mkdirat()(d, a, m));
}
int link(const char* a, const char* b) {
  ABS(pa, AT_FDCWD, a);
  ABS(pb, AT_FDCWD, b);
  return after_path_op(OP_LINK, pa, pb, 0, 0, get_link()(a, b));
}
int linkat(int da, const char* a, int db, const char* b, int f) {
  ABS(pa, da, a);
  ABS(pb, db, b);
  return after_path_op(OP_LINK, pa, pb, 0, 0, get_linkat()(da, a, db, b, f));
}
int truncate(const char* a, off_t len) {
  ABS(pa, AT_FDCWD, a);
  return after_path_op(OP_TRUNC_PATH, pa, NULL, 0, len, get_truncate()(a, len));
}
int truncate64(const char* a, off_t len) {
  ABS(pa, AT_FDCWD, a);
  return after_path_op(OP_TRUNC_PATH, pa, NULL, 0, len, get_truncate64()(a, len));
}

/* A duplicate names the same file; one made over a traced descriptor closes that one first. */
static int after_dup(int oldfd, int newfd) {
  if (newfd < 0 || oldfd == newfd || (!tracked(oldfd) && !tracked(newfd))) return newfd;
  int saved = errno;
  pthread_mutex_lock(&trace_lock);
  if (tracked(newfd)) {
    struct record rec = {.op = OP_CLOSE, .fd = newfd};
    emit(&rec, NULL, NULL, NULL, 0);
  }
  if (tracked(oldfd)) {
    struct record rec = {.op = OP_DUP, .fd = oldfd, .fd2 = newfd, .result = newfd};
    emit(&rec, fd_paths[oldfd], NULL, NULL, 0);
  }
  set_path(newfd, tracked(oldfd) ? fd_paths[oldfd] : NULL);
  pthread_mutex_unlock(&trace_lock);
  errno = saved;
  return newfd;
}
int dup(int fd) { return after_dup(fd, get_dup()(fd)); }
int dup2(int fd, int to) { return after_dup(fd, get_dup2()(fd, to)); }
int dup3(int fd, int to, int f) { return after_dup(fd, get_dup3()(fd, to, f)); }

/* Whether a raw system call changes a file under the root (only recorded: see the top). */
static int raw_touches_root(long n, const long* a) {
  char p[4096], q[4096];
  switch (n) {
    case SYS_write:
    case SYS_pwrite64:
    case SYS_writev:
    case SYS_pwritev:
    case SYS_pwritev2:
    case SYS_ftruncate:
    case SYS_fallocate:
    case SYS_fsync:
    case SYS_fdatasync:
    case SYS_sendfile:
      return tracked((int)a[0]);
    case SYS_copy_file_range:
      return tracked((int)a[2]);
    case SYS_open:
    case SYS_creat:
    case SYS_truncate:
    case SYS_unlink:
    case SYS_rmdir:
    case SYS_mkdir:
      return absolute(AT_FDCWD, (const char*)a[0], p, sizeof p) && under_root(p);
    case SYS_rename:
    case SYS_link:
      return (absolute(AT_FDCWD, (const char*)a[0], p, sizeof p) && under_root(p)) ||
             (absolute(AT_FDCWD, (const char*)a[1], q, sizeof q) && under_root(q));
    case SYS_openat:
    case SYS_unlinkat:
    case SYS_mkdirat:
      return absolute((int)a[0], (const char*)a[1], p, sizeof p) && under_root(p);
    case SYS_renameat:
    case SYS_renameat2:
    case SYS_linkat:
      return (absolute((int)a[0], (const char*)a[1], p, sizeof p) && under_root(p)) ||
             (absolute((int)a[2], (const char*)a[3], q, sizeof q) && under_root(q));
    default:
      return 0;
  }
}

long syscall(long n, ...) {
  va_list ap;
  va_start(ap, n);
  long a[6];
  for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
  va_end(ap);
  long r = get_syscall()(n, a[0], a[1], a[2], a[3], a[4], a[5]);
  if (r >= 0 && trace_fd >= 0 && raw_touches_root(n, a)) {
    int saved = errno;
    pthread_mutex_lock(&trace_lock);
    struct record rec = {.op = OP_RAW, .fd = (int32_t)a[0], .result = r, .flags = (uint32_t)n};
    emit(&rec, NULL, NULL, NULL, 0);
    pthread_mutex_unlock(&trace_lock);
    errno = saved;
  }
  return r;
}
