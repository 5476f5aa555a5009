/* splice_copy: the pipe ceiling of `make bench` (SPEC §11).
 *
 * Copies stdin to stdout with splice(2), never touching the bytes in user
 * space, after raising both pipe buffers to 1 MiB with F_SETPIPE_SZ. When an
 * end is not a pipe (splice needs at least one pipe end), it falls back to
 * read/write with a 1 MiB buffer.
 *
 *   splice_copy [FILE...]   (no FILE: stdin) -> stdout
 *
 * With FILE arguments it splices each file in turn to stdout (a pipe), which
 * is how the bench emits model bytes "at the pipe ceiling". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BENCH_PROGRAM "splice_copy"
#include "benchio.h"

enum { pipe_size = 1 << 20, chunk = 1 << 20 };

static int is_pipe(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void copy_rw(int in) {
  static char buf[chunk];
  for (;;) {
    ssize_t r = read(in, buf, sizeof buf);
    if (r == 0) return;
    if (r < 0) {
      if (errno == EINTR) continue;
      die("read");
    }
    write_all(1, buf, (size_t)r);
  }
}

static void copy_fd(int in) {
  if (!is_pipe(in) && !is_pipe(1)) return copy_rw(in);
  for (;;) {
    ssize_t n = splice(in, NULL, 1, NULL, chunk, SPLICE_F_MOVE | SPLICE_F_MORE);
    if (n == 0) return;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL) return copy_rw(in);
      die("splice");
    }
  }
}

int main(int argc, char **argv) {
  if (is_pipe(0)) fcntl(0, F_SETPIPE_SZ, pipe_size);
  if (is_pipe(1)) fcntl(1, F_SETPIPE_SZ, pipe_size);
  if (argc < 2) {
    copy_fd(0);
    return 0;
  }
  for (int i = 1; i < argc; ++i) {
    int fd = open(argv[i], O_RDONLY);
    if (fd < 0) die(argv[i]);
    copy_fd(fd);
    close(fd);
  }
  return 0;
}
