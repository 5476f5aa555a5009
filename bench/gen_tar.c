/* gen_tar: streams a huge OCI layout tar to stdout without any disk or page
 * cache behind it (the peak-RSS figure of `make bench`, SPEC §11).
 *
 *   gen_tar ZERO_NAME ZERO_BYTES FILE...   ustar on stdout: each FILE (a path
 *       relative to the current directory, stored as given), with an entry
 *       ZERO_NAME of ZERO_BYTES zero bytes placed before the first FILE named
 *       index.json. The zeros are vmsplice(2)d from one never-written buffer
 *       when stdout is a pipe, so generating them costs almost nothing.
 *   gen_tar zero-sha256 BYTES             SHA-256 hex of BYTES zero bytes.
 *
 * (Reading a sparse file instead makes the kernel fill the page cache with
 * zero pages: ten times slower than the filter under test.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define BENCH_PROGRAM "gen_tar"
#include "benchio.h"

enum { block = 512, chunk = 1 << 20 };
static unsigned char zeros[chunk] __attribute__((aligned(4096)));
static int out_is_pipe;

static void write_zeros(uint64_t n) {
  while (n > 0) {
    size_t step = n < chunk ? (size_t)n : chunk;
    if (out_is_pipe) {
      struct iovec iov = {zeros, step};
      ssize_t w = vmsplice(1, &iov, 1, 0);
      if (w < 0) {
        if (errno == EINTR) continue;
        die("vmsplice");
      }
      n -= (uint64_t)w;
    } else {
      write_all(1, zeros, step);
      n -= step;
    }
  }
}

static void octal(char *field, size_t width, uint64_t value) {
  if (width - 1 < 22 && value >= (uint64_t)1 << (3 * (width - 1))) {
    /* GNU base-256 for sizes of 8 GiB and more. */
    memset(field, 0, width);
    field[0] = (char)0x80;
    for (size_t i = width - 1; i > 0 && value; --i, value >>= 8) field[i] = (char)(value & 0xff);
    return;
  }
  snprintf(field, width, "%0*llo", (int)(width - 1), (unsigned long long)value);
}

static void header(const char *name, uint64_t size) {
  unsigned char h[block] = {0};
  if (strlen(name) >= 100) {
    errno = ENAMETOOLONG;
    die(name);
  }
  memcpy(h, name, strlen(name));
  octal((char *)h + 100, 8, 0644);
  octal((char *)h + 108, 8, 0);
  octal((char *)h + 116, 8, 0);
  octal((char *)h + 124, 12, size);
  octal((char *)h + 136, 12, 1704067200); /* 2024-01-01 */
  h[156] = '0';
  memcpy(h + 257, "ustar\0" "00", 8);
  memset(h + 148, ' ', 8);
  unsigned sum = 0;
  for (int i = 0; i < block; ++i) sum += h[i];
  snprintf((char *)h + 148, 8, "%06o", sum);
  write_all(1, h, block);
}

static void pad(uint64_t size) {
  size_t rest = (size_t)(size % block);
  if (rest) write_all(1, zeros, block - rest);
}

static void file_entry(const char *path) {
  int fd = open(path, O_RDONLY);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) die(path);
  header(path, (uint64_t)st.st_size);
  static unsigned char buf[chunk];
  for (;;) {
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) die(path);
    if (r == 0) break;
    write_all(1, buf, (size_t)r);
  }
  close(fd);
  pad((uint64_t)st.st_size);
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "zero-sha256") == 0) {
    uint64_t n = strtoull(argv[2], NULL, 10);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    for (; n > 0;) {
      size_t step = n < chunk ? (size_t)n : chunk;
      EVP_DigestUpdate(ctx, zeros, step);
      n -= step;
    }
    EVP_DigestFinal_ex(ctx, md, &len);
    for (unsigned i = 0; i < len; ++i) printf("%02x", md[i]);
    printf("\n");
    return 0;
  }
  if (argc < 4) {
    fprintf(stderr, "usage: gen_tar ZERO_NAME ZERO_BYTES FILE... >layout.tar | gen_tar zero-sha256 BYTES\n");
    return 2;
  }
  struct stat st;
  out_is_pipe = fstat(1, &st) == 0 && S_ISFIFO(st.st_mode);
  if (out_is_pipe) fcntl(1, F_SETPIPE_SZ, chunk);
  const char *zero_name = argv[1];
  uint64_t zero_size = strtoull(argv[2], NULL, 10);
  int zeros_done = 0;
  for (int i = 3; i < argc; ++i) {
    const char *base = strrchr(argv[i], '/');
    base = base ? base + 1 : argv[i];
    if (!zeros_done && strcmp(base, "index.json") == 0) {
      header(zero_name, zero_size);
      write_zeros(zero_size);
      pad(zero_size);
      zeros_done = 1;
    }
    file_entry(argv[i]);
  }
  if (!zeros_done) {
    header(zero_name, zero_size);
    write_zeros(zero_size);
    pad(zero_size);
  }
  write_all(1, zeros, 2 * block);
  return 0;
}
