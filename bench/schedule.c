/* schedule: the reference schedules of `make bench` (SPEC §11), run for real.
 *
 *   schedule sha256 FILE...       SHA-256 (OpenSSL EVP) of each file, one core,
 *                                 1 MiB reads; prints "<hex>  FILE".
 *   schedule run HASHES FILE...   stdin (the base layout) to stdout, then each
 *                                 FILE, in order, with stdout a pipe of 1 MiB:
 *     HASHES=0  no hashing: stdin and the files are spliced (the pipe ceiling
 *               for the same bytes; the warm-cache reference).
 *     HASHES=1  the ideal add-model schedule with one SHA-256 per model byte:
 *               a worker thread hashes file 1, 2, ... while the main thread
 *               splices the base; file i is spliced to stdout as soon as its
 *               hash is known, while the worker hashes file i+1.
 *     HASHES=2  as 1, but the main thread reads file i, hashes it a second
 *               time (the file's own digest, SPEC §10) and writes it: two
 *               SHA-256 per model byte, one on each core.
 *     copy      no hashing, and stdin and the files are copied with read(2)
 *               and write(2) through a 1 MiB buffer instead of spliced: the
 *               ceiling for a filter that must see (and so copy) its bytes.
 *     xxh3      as copy, and each file's bytes are XXH3-128 checked on their
 *               way through: the warm-cache job's work without its SHA-256
 *               (the figure 3 reference: each model byte read once, the
 *               XXH3 re-check included).
 * Only the schedule matters: the digests are computed and thrown away. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#define BENCH_PROGRAM "schedule"
#include "benchio.h"

enum { pipe_size = 1 << 20, chunk = 1 << 20 };

static ssize_t read_some(int fd, unsigned char *buf, size_t n) {
  for (;;) {
    ssize_t r = read(fd, buf, n);
    if (r >= 0 || errno != EINTR) return r;
  }
}

/* Hashes fd to its end; when out >= 0 also writes every byte there. */
static void hash_fd(int fd, unsigned char *buf, int out, unsigned char md[EVP_MAX_MD_SIZE]) {
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  unsigned len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) die("EVP init");
  for (;;) {
    ssize_t r = read_some(fd, buf, chunk);
    if (r < 0) die("read");
    if (r == 0) break;
    EVP_DigestUpdate(ctx, buf, (size_t)r);
    if (out >= 0) write_all(out, buf, (size_t)r);
  }
  EVP_DigestFinal_ex(ctx, md, &len);
  EVP_MD_CTX_free(ctx);
}

static int open_file(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) die(path);
  posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return fd;
}

static int copy_only; /* "copy" and "xxh3": read/write instead of splice */
static int xxh3;      /* "xxh3": and each file XXH3-128 hashed */

static void copy_xxh3(int in) {
  static unsigned char buf[chunk];
  XXH3_state_t *state = XXH3_createState();
  if (!state || XXH3_128bits_reset(state) != XXH_OK) die("XXH3 init");
  for (;;) {
    ssize_t r = read_some(in, buf, chunk);
    if (r < 0) die("read");
    if (r == 0) break;
    XXH3_128bits_update(state, buf, (size_t)r);
    write_all(1, buf, (size_t)r);
  }
  volatile XXH128_hash_t h = XXH3_128bits_digest(state);
  (void)h;
  XXH3_freeState(state);
}

static void splice_all(int in) {
  static unsigned char buf[chunk];
  for (; !copy_only;) {
    ssize_t n = splice(in, NULL, 1, NULL, chunk, SPLICE_F_MOVE | SPLICE_F_MORE);
    if (n == 0) return;
    if (n > 0) continue;
    if (errno == EINTR) continue;
    if (errno != EINVAL) die("splice");
    break; /* neither end a pipe: plain copy */
  }
  for (;;) {
    ssize_t r = read_some(in, buf, chunk);
    if (r < 0) die("read");
    if (r == 0) return;
    write_all(1, buf, (size_t)r);
  }
}

static char **files;
static int nfiles, hashed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

static void *hasher(void *arg) {
  (void)arg;
  unsigned char *buf = malloc(chunk), md[EVP_MAX_MD_SIZE];
  for (int i = 0; i < nfiles; ++i) {
    int fd = open_file(files[i]);
    hash_fd(fd, buf, -1, md);
    close(fd);
    pthread_mutex_lock(&lock);
    hashed = i + 1;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
  }
  free(buf);
  return NULL;
}

static int run(int hashes) {
  struct stat st;
  if (fstat(1, &st) == 0 && S_ISFIFO(st.st_mode)) fcntl(1, F_SETPIPE_SZ, pipe_size);
  if (fstat(0, &st) == 0 && S_ISFIFO(st.st_mode)) fcntl(0, F_SETPIPE_SZ, pipe_size);
  pthread_t worker;
  if (hashes > 0 && pthread_create(&worker, NULL, hasher, NULL) != 0) die("pthread_create");
  splice_all(0);
  unsigned char *buf = malloc(chunk), md[EVP_MAX_MD_SIZE];
  for (int i = 0; i < nfiles; ++i) {
    if (hashes > 0) {
      pthread_mutex_lock(&lock);
      while (hashed <= i) pthread_cond_wait(&cond, &lock);
      pthread_mutex_unlock(&lock);
    }
    int fd = open_file(files[i]);
    if (hashes == 2)
      hash_fd(fd, buf, 1, md);
    else if (xxh3)
      copy_xxh3(fd);
    else
      splice_all(fd);
    close(fd);
  }
  if (hashes > 0) pthread_join(worker, NULL);
  free(buf);
  return 0;
}

int main(int argc, char **argv) {
  if (argc >= 2 && strcmp(argv[1], "sha256") == 0) {
    unsigned char *buf = malloc(chunk), md[EVP_MAX_MD_SIZE];
    for (int i = 2; i < argc; ++i) {
      int fd = open_file(argv[i]);
      hash_fd(fd, buf, -1, md);
      close(fd);
      for (int j = 0; j < 32; ++j) printf("%02x", md[j]);
      printf("  %s\n", argv[i]);
    }
    return 0;
  }
  if (argc >= 3 && strcmp(argv[1], "run") == 0) {
    xxh3 = strcmp(argv[2], "xxh3") == 0;
    copy_only = xxh3 || strcmp(argv[2], "copy") == 0;
    int hashes = copy_only ? 0 : atoi(argv[2]);
    if (hashes < 0 || hashes > 2) goto usage;
    files = argv + 3;
    nfiles = argc - 3;
    return run(hashes);
  }
usage:
  fprintf(stderr, "usage: schedule sha256 FILE... | schedule run 0|1|2|copy|xxh3 FILE... <base >out\n");
  return 2;
}
