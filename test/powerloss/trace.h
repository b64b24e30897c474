/* Shared by trace.c and trace-ns.c, the two halves of the power-loss tracer (trace.c says what it
 * is). Everything here is hidden: an LD_PRELOAD library's exported names would interpose the
 * process's own. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#define HIDDEN __attribute__((visibility("hidden")))

enum {
  OP_OPEN = 1,
  OP_CLOSE,
  OP_WRITE,
  OP_TRUNC,
  OP_FALLOCATE,
  OP_SYNC_BEGIN,
  OP_SYNC_END,
  OP_RENAME,
  OP_UNLINK,
  OP_RMDIR,
  OP_MKDIR,
  OP_LINK,
  OP_DUP,
  OP_SYNC_ALL_BEGIN,
  OP_SYNC_ALL_END,
  OP_RAW,
  OP_TRUNC_PATH
};

/* One record: this header, then path, path2 and data bytes. Little-endian x86-64 layout, read by
 * test/powerloss/trace-format.ts (keep the two in step). */
struct record {
  uint32_t magic, op, pid, tid;
  int32_t fd, fd2;
  int64_t result, offset;
  uint64_t length;
  uint32_t flags, mode, path_len, path2_len, data_len, zero;
};

#define MAX_FD 65536
/* The path each traced descriptor was opened by (kept up to date across renames); guarded by
 * trace_lock. */
HIDDEN extern char* fd_paths[MAX_FD];
HIDDEN extern pthread_mutex_t trace_lock;
HIDDEN extern int trace_fd;

HIDDEN int absolute(int dirfd, const char* path, char* out, size_t size);
HIDDEN int under_root(const char* p);
HIDDEN int tracked(int fd);
HIDDEN void emit(struct record* rec, const char* p1, const char* p2, const struct iovec* iov,
                 int n);
HIDDEN void set_path(int fd, const char* p);

/* real_NAME: the next definition of NAME after this library's (libc's), looked up on first use. */
#define REAL(ret, name, ...)                                             \
  static ret (*real_##name)(__VA_ARGS__);                                \
  static ret (*get_##name(void))(__VA_ARGS__) {                          \
    if (!real_##name) *(void**)(&real_##name) = dlsym(RTLD_NEXT, #name); \
    return real_##name;                                                  \
  }
