/* What the bench's small C tools share: failing loudly and writing whole
 * buffers. Each tool defines BENCH_PROGRAM (its name, for messages) first. */
#ifndef BENCHIO_H
#define BENCHIO_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void die(const char *what) {
  fprintf(stderr, BENCH_PROGRAM ": %s: %s\n", what, strerror(errno));
  exit(1);
}

static void write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    p += w;
    n -= (size_t)w;
  }
}

#endif
