#!/usr/bin/env bats
# Reliability (SPEC §3, §8, §9): what a hostile or broken world can do to
# olot-filter in the middle of a pipeline — truncated and corrupt input,
# hostile JSON, resource caps, a full disk, a closed reader, signals, huge
# inputs — must end in the right exit status with one "olot-filter: " error
# line, and never in a wrong but well-formed output: index.json (the commit
# record, §8) appears only in a complete, successful output.

load reliability_helpers

setup_file() {
  rel_require_binary
  rel_write_generator
  printf 'tiny model\n' >"$BATS_FILE_TMPDIR/model.bin"
  rel_gen multiarch "$BATS_FILE_TMPDIR/multiarch.tar"
  rel_gen single "$BATS_FILE_TMPDIR/single.tar"
}

setup() {
  T=$BATS_FILE_TMPDIR
  MODEL=$T/model.bin
  W=$BATS_TEST_TMPDIR
  cd "$W"
}

# --- truncation and corruption (§3, §8) ---------------------------------------

# check_cut FULL_OUT CUT_IN ENTRIES_END N [HAVE] — one cut of the sweep: the
# cut keeps the first N bytes, which hold HAVE bytes of tar (default N; less
# for a compressed input).
check_cut() {
  local full_out=$1 cut=$2 entries_end=$3 n=$4 have=${5:-$4}
  rel_run "$cut" "$W/cut.out" --mtime "$REL_MTIME" --model "$MODEL"
  if [[ $status -ge 128 ]]; then
    echo "cut at $n: killed by signal $((status - 128))" >&2
    return 1
  fi
  if [[ $status -eq 0 ]]; then
    # Only a cut inside the end-of-archive region may succeed, and then the
    # output must be exactly the full input's.
    if [[ $have -lt $entries_end ]]; then
      echo "cut at $n ($have bytes of tar < end of entries $entries_end) was accepted" >&2
      return 1
    fi
    cmp "$full_out" "$W/cut.out" || {
      echo "cut at $n: exit 0 but the output differs from the full input's" >&2
      return 1
    }
    return 0
  fi
  rel_assert_error 65 || {
    echo "(cut at $n)" >&2
    return 1
  }
  local count
  count=$(rel_index_count "$W/cut.out")
  [[ $count -eq 0 ]] || {
    echo "cut at $n: exit $status but the output has index.json" >&2
    return 1
  }
}

# sweep TAR ORDER_NAME — the full output once, then cuts at every 512-byte
# boundary and at odd offsets.
sweep() {
  local tar=$1
  rel_run "$tar" "$W/full.out" --mtime "$REL_MTIME" --model "$MODEL"
  rel_assert_ok
  [[ $(rel_index_count "$W/full.out") -eq 1 ]]
  local size entries_end n cuts=0
  size=$(stat -c %s "$tar")
  entries_end=$(rel_entries_end "$tar")
  for ((n = 0; n < size; n += 512)); do
    head -c "$n" "$tar" >"$W/cut.tar"
    check_cut "$W/full.out" "$W/cut.tar" "$entries_end" "$n"
    cuts=$((cuts + 1))
  done
  for n in 1 100 511 513 1000 1023 1025 $((size / 3 + 7)) $((size / 2 + 1)) $((size - 1)) $((entries_end - 1)) \
    $((entries_end + 1)) $((entries_end + 511)) $((entries_end + 513)); do
    ((n > 0 && n < size)) || continue
    head -c "$n" "$tar" >"$W/cut.tar"
    check_cut "$W/full.out" "$W/cut.tar" "$entries_end" "$n"
    cuts=$((cuts + 1))
  done
  echo "# $cuts cuts of $size bytes (entries end at $entries_end)" >&3
}

@test "truncation sweep, index.json first: every cut is exit 65 without index.json, or the full output" {
  sweep "$T/multiarch.tar"
}

@test "truncation sweep, index.json last: every cut is exit 65 without index.json, or the full output" {
  rel_gen multiarch "$W/last.tar" index-last
  sweep "$W/last.tar"
}

@test "truncation sweep of a gzip-compressed input: exit 65 without index.json, or the full output" {
  gzip -n -c "$T/multiarch.tar" >"$W/in.tar.gz"
  rel_run "$T/multiarch.tar" "$W/full.out" --mtime "$REL_MTIME" --model "$MODEL"
  rel_assert_ok
  local entries_end n have cuts=0
  entries_end=$(rel_entries_end "$T/multiarch.tar")
  while read -r n have; do
    head -c "$n" "$W/in.tar.gz" >"$W/cut.tar.gz"
    # A cut may succeed only if the tar it decompresses to holds every entry.
    check_cut "$W/full.out" "$W/cut.tar.gz" "$entries_end" "$n" "$have"
    cuts=$((cuts + 1))
  done < <(rel_gzip_cuts "$W/in.tar.gz" "$entries_end" 61)
  echo "# $cuts cuts of $(stat -c %s "$W/in.tar.gz") compressed bytes" >&3
}

@test "a corrupt header checksum is exit 65 naming the tar problem, with no index.json" {
  # Flip one byte of the name field of the second entry's header (the
  # checksum stays as it was).
  local off
  off=$(python3 - "$T/multiarch.tar" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    m = t.getmembers()
    print(m[1].offset)
PY
)
  cp "$T/multiarch.tar" "$W/bad.tar"
  printf 'Z' | dd of="$W/bad.tar" bs=1 seek="$((off + 3))" conv=notrunc status=none
  rel_run "$W/bad.tar" "$W/out.tar" --mtime "$REL_MTIME" --model "$MODEL"
  rel_assert_error 65
  [[ $(rel_index_count "$W/out.tar") -eq 0 ]]
  # The message says the tar is damaged, not something about the entry's name.
  [[ $stderr == *"tar"* ]] || {
    echo "message does not mention the tar: $stderr" >&2
    return 1
  }
  # The very first header corrupt: not a tar at all.
  cp "$T/multiarch.tar" "$W/bad0.tar"
  printf 'Z' | dd of="$W/bad0.tar" bs=1 seek=3 conv=notrunc status=none
  rel_run "$W/bad0.tar" "$W/out0.tar" --mtime "$REL_MTIME"
  rel_assert_error 65
  [[ $(rel_index_count "$W/out0.tar") -eq 0 ]]
}

# --- hostile JSON (§3, §4, §7) ------------------------------------------------

@test "a manifest nested 100000 deep is exit 65" {
  rel_gen deep-manifest "$W/in.tar" 100000
  rel_run "$W/in.tar" "$W/out.tar" --mtime "$REL_MTIME" --model "$MODEL"
  rel_assert_error 65
  [[ $(rel_index_count "$W/out.tar") -eq 0 ]]
}

@test "a 1 MiB number literal: kept literally in a config, refused as a descriptor size" {
  # What happens (documented): a number token is kept as the text it is, so a
  # 1 MiB literal in a field olot-filter does not interpret survives the
  # rewrite byte for byte (exit 0); as a descriptor's size it does not fit
  # uint64 and the descriptor is refused (exit 65). Never a crash.
  rel_gen long-number-config "$W/in.tar" 1048576
  rel_run "$W/in.tar" "$W/out.tar" --mtime "$REL_MTIME" --model "$MODEL"
  rel_assert_ok
  mkdir o && tar -C o -xf "$W/out.tar"
  python3 - o <<'PY'
import json, os, sys
d = sys.argv[1]
idx = json.load(open(os.path.join(d, "index.json")))
m = json.load(open(os.path.join(d, "blobs/sha256", idx["manifests"][0]["digest"][7:])))
raw = open(os.path.join(d, "blobs/sha256", m["config"]["digest"][7:]), "rb").read()
assert b'"x-long-number":' + b"1" * 1048576 + b"," in raw or b'"x-long-number":' + b"1" * 1048576 + b"}" in raw, \
    "the long literal was not kept"
PY
  rel_gen long-number-size "$W/in2.tar" 1048576
  rel_run "$W/in2.tar" "$W/out2.tar" --mtime "$REL_MTIME" --model "$MODEL"
  rel_assert_error 65
  [[ $(rel_index_count "$W/out2.tar") -eq 0 ]]
}

@test "a descriptor size that differs from the blob's size is exit 65 (manifest and layer)" {
  rel_gen manifest-size-mismatch "$W/in.tar"
  rel_run "$W/in.tar" "$W/out.tar" --mtime "$REL_MTIME" --model "$MODEL"
  rel_assert_error 65
  [[ $stderr == *size* ]]
  [[ $(rel_index_count "$W/out.tar") -eq 0 ]]
  rel_gen layer-size-mismatch "$W/in2.tar"
  rel_run "$W/in2.tar" "$W/out2.tar" --mtime "$REL_MTIME" --model "$MODEL"
  rel_assert_error 65
  [[ $stderr == *size* ]]
  [[ $(rel_index_count "$W/out2.tar") -eq 0 ]]
}

@test "a config larger than --max-json-size is exit 65 and suggests --max-json-size" {
  rel_gen big-config "$W/in.tar" 4000
  rel_run "$W/in.tar" "$W/out.tar" --mtime "$REL_MTIME" --model "$MODEL" --max-json-size 1024
  rel_assert_error 65
  [[ $stderr == *--max-json-size* ]]
  [[ $(rel_index_count "$W/out.tar") -eq 0 ]]
  # The same input with a large enough limit is fine.
  rel_run "$W/in.tar" "$W/out.tar" --mtime "$REL_MTIME" --model "$MODEL" --max-json-size 8192
  rel_assert_ok
}

@test "an index.json larger than --max-json-size is exit 65 and suggests --max-json-size" {
  rel_run "$T/single.tar" "$W/out.tar" --mtime "$REL_MTIME" --max-json-size 100
  rel_assert_error 65
  [[ $stderr == *--max-json-size* ]]
  [[ $(rel_index_count "$W/out.tar") -eq 0 ]]
}

@test "buffered JSON beyond 32 times --max-json-size is exit 65" {
  # 40 JSON blobs of 1000 bytes = 40000 > 32 * 1024.
  rel_gen many-json "$W/in.tar" 40 1000
  rel_run "$W/in.tar" "$W/out.tar" --mtime "$REL_MTIME" --max-json-size 1024
  rel_assert_error 65
  [[ $stderr == *--max-json-size* ]]
  [[ $(rel_index_count "$W/out.tar") -eq 0 ]]
  # 30 of them fit.
  rel_gen many-json "$W/in2.tar" 30 1000
  rel_run "$W/in2.tar" "$W/out2.tar" --mtime "$REL_MTIME" --max-json-size 1024
  rel_assert_ok
}

@test "--max-json-size near 2^64 / 32 does not wrap the 32x cap around to nothing" {
  # 32 * 2^59 is 2^64: in 64-bit arithmetic the cap on all buffered JSON
  # would be 0 and every input refused ("raise --max-json-size").
  rel_run "$T/single.tar" "$W/out.tar" --mtime "$REL_MTIME" --max-json-size 576460752303423488
  if [[ $status -ne 0 ]]; then
    rel_assert_error 64 # refusing the value as a usage error is fine too
  fi
}

@test "a very deep chain of indexes (the buildable stand-in for a cycle) ends in 0 or 65, never a crash" {
  # index.json -> 20000 nested image indexes -> manifest. A true cycle (A
  # lists B, B lists A) cannot be built: with content addressing A's digest
  # covers B's digest, which covers A's. What an attacker can build is depth,
  # and depth must not exhaust the stack (§7: indexes nested to any depth).
  rel_gen index-chain "$W/in.tar" 20000
  rel_run "$W/in.tar" "$W/out.tar" --mtime "$REL_MTIME" --model "$MODEL"
  if [[ $status -eq 0 ]]; then
    [[ $(rel_index_count "$W/out.tar") -eq 1 ]]
  else
    rel_assert_error 65
    [[ $(rel_index_count "$W/out.tar") -eq 0 ]]
  fi
}

# --- output failures (§8, §9) -------------------------------------------------

@test "output to /dev/full is exit 74" {
  rel_run "$T/multiarch.tar" /dev/full --mtime "$REL_MTIME" --model "$MODEL"
  rel_assert_error 74
}

@test "-o FILE in a missing directory is exit 73" {
  status=0
  timeout -k 5 "$REL_TIMEOUT" "$OLOT_FILTER" --mtime "$REL_MTIME" -o "$W/sub/none.tar" <"$T/single.tar" \
    2>"$W/stderr" || status=$?
  stderr=$(cat "$W/stderr")
  rel_assert_error 73
}

@test "a reader that closes early (| head -c 1000) is exit 74, promptly, without SIGPIPE" {
  rel_gen big-layer "$W/in.tar" $((16 << 20))
  # A 4 GiB (sparse) model file too: its hashing must stop, not finish, when
  # the job fails.
  truncate -s 4G "$W/big-model.bin"
  local start end rc
  start=$(date +%s)
  set +e
  timeout -k 5 60 "$OLOT_FILTER" --mtime "$REL_MTIME" --model "$W/big-model.bin" <"$W/in.tar" 2>"$W/stderr" |
    head -c 1000 >/dev/null
  rc=("${PIPESTATUS[@]}")
  set -e
  end=$(date +%s)
  status=${rc[0]}
  stderr=$(cat "$W/stderr")
  rel_assert_error 74
  [[ $stderr == *"cannot write output"* ]]
  ((end - start < 10))
}

@test "-o FILE on a failing input leaves neither FILE nor a temporary file" {
  mkdir outdir
  head -c 3000 "$T/multiarch.tar" >"$W/cut.tar"
  status=0
  timeout -k 5 "$REL_TIMEOUT" "$OLOT_FILTER" --mtime "$REL_MTIME" --model "$MODEL" -o "$W/outdir/out.tar" \
    <"$W/cut.tar" 2>"$W/stderr" || status=$?
  stderr=$(cat "$W/stderr")
  rel_assert_error 65
  run ls -A "$W/outdir"
  assert_output ""
  # A digest mismatch found only at the end (a streamed layer) as well.
  python3 - "$T/multiarch.tar" "$W/bad.tar" <<'PY'
import sys, tarfile, io
src, dst = sys.argv[1], sys.argv[2]
with tarfile.open(src) as t, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as o:
    for m in t.getmembers():
        data = t.extractfile(m).read()
        if m.name.startswith("blobs/") and not data.lstrip().startswith(b"{"):
            data = data[:-1] + bytes([data[-1] ^ 1])
        o.addfile(m, io.BytesIO(data))
PY
  status=0
  timeout -k 5 "$REL_TIMEOUT" "$OLOT_FILTER" --mtime "$REL_MTIME" --model "$MODEL" -o "$W/outdir/out.tar" \
    <"$W/bad.tar" 2>"$W/stderr" || status=$?
  stderr=$(cat "$W/stderr")
  rel_assert_error 65
  run ls -A "$W/outdir"
  assert_output ""
}

# --- signals (§9) -----------------------------------------------------------

# signal_during_run SIGNAL CODE — olot-filter -o reads a FIFO that stays open
# after the first entries; SIGNAL must end it with CODE and remove the
# temporary file.
signal_during_run() {
  local sig=$1 code=$2
  mkdir -p outdir
  mkfifo "$W/fifo"
  "$OLOT_FILTER" --mtime "$REL_MTIME" --model "$MODEL" -o "$W/outdir/out.tar" <"$W/fifo" 2>"$W/stderr" 3>&- &
  local pid=$!
  exec 7>"$W/fifo"
  # The first 8 KiB: index.json, oci-layout and a blob or two, then nothing.
  head -c 8192 "$T/multiarch.tar" >&7
  local i
  for ((i = 0; i < 100; i++)); do
    compgen -G "$W/outdir/.out.tar.olot-tmp.*" >/dev/null && break
    sleep 0.1
  done
  if ! compgen -G "$W/outdir/.out.tar.olot-tmp.*" >/dev/null; then
    exec 7>&-
    kill -KILL "$pid" 2>/dev/null || true
    echo "no temporary output file appeared" >&2
    return 1
  fi
  sleep 0.2
  kill -"$sig" "$pid"
  status=0
  wait "$pid" || status=$?
  exec 7>&-
  [[ $status -eq $code ]] || {
    echo "expected exit $code after SIG$sig, got $status; stderr: $(cat "$W/stderr")" >&2
    return 1
  }
  run ls -A "$W/outdir"
  assert_output ""
}

@test "SIGTERM during a run is exit 143 and removes the -o temporary file" {
  signal_during_run TERM 143
}

@test "SIGINT during a run is exit 130 and removes the -o temporary file" {
  signal_during_run INT 130
}

# --- memory stays bounded (§4) ------------------------------------------------

@test "1 000 000 tiny entries stream in bounded memory (under 80 MiB, < 64 bytes an entry)" {
  rel_need_time
  rel_is_asan && skip "peak RSS is meaningless under AddressSanitizer"
  local small big
  small=$(rel_gen_rss many-entries 100000 -- --mtime "$REL_MTIME" --model "$MODEL")
  big=$(rel_gen_rss many-entries 1000000 -- --mtime "$REL_MTIME" --model "$MODEL")
  echo "# generator status, olot-filter status, peak RSS (KiB): 100 000 entries: $small; 1 000 000: $big" >&3
  read -r g1 s1 r1 <<<"$small"
  read -r g2 status r2 <<<"$big"
  stderr=$(cat "$W/stderr")
  [[ $g1 -eq 0 && $g2 -eq 0 && $s1 -eq 0 ]]
  rel_assert_ok
  ((r2 < 80 * 1024))
  # What each blob costs: its record (binary digest, size, flags) and slot.
  (((r2 - r1) * 1024 / 900000 < 64))
}

@test "peak RSS does not grow with layer size (64 MiB vs 1 GiB layer, streamed)" {
  rel_need_time
  rel_is_asan && skip "peak RSS is meaningless under AddressSanitizer"
  local small big
  small=$(rel_gen_rss big-layer $((64 << 20)) -- --mtime "$REL_MTIME" --model "$MODEL")
  big=$(rel_gen_rss big-layer $((1 << 30)) -- --mtime "$REL_MTIME" --model "$MODEL")
  echo "# generator status, olot-filter status, peak RSS (KiB): 64 MiB layer: $small; 1 GiB layer: $big" >&3
  read -r _ s1 r1 <<<"$small"
  read -r _ s2 r2 <<<"$big"
  [[ $s1 -eq 0 && $s2 -eq 0 ]]
  ((r2 - r1 < 8 * 1024))
}

# --- -o and special files (§2, §8) ---------------------------------------------

@test "-o FIFO streams into the FIFO (the skopeo recipe) and leaves it a FIFO" {
  # `--output` renames a temporary file into place; a FIFO (or /dev/stdout,
  # or a device) must be written as it is instead, or the reader on the FIFO
  # waits forever and the FIFO is replaced by a regular file.
  mkfifo "$W/pipe"
  timeout 60 cat "$W/pipe" >"$W/got.tar" 3>&- &
  local reader=$!
  status=0
  timeout -k 5 60 "$OLOT_FILTER" --mtime "$REL_MTIME" --model "$MODEL" -o "$W/pipe" <"$T/multiarch.tar" \
    2>"$W/stderr" || status=$?
  stderr=$(cat "$W/stderr")
  local is_fifo=yes
  [[ -p $W/pipe ]] || is_fifo=no
  if [[ $is_fifo == no ]]; then
    kill "$reader" 2>/dev/null || true
  fi
  local rstatus=0
  wait "$reader" || rstatus=$?
  rel_assert_ok
  [[ $is_fifo == yes ]] || {
    echo "the FIFO was replaced by a regular file; its reader got nothing" >&2
    return 1
  }
  [[ $rstatus -eq 0 ]]
  [[ $(rel_index_count "$W/got.tar") -eq 1 ]]
}

@test "-o on a character device writes to the device and leaves the device node in place" {
  # As root, `-o /dev/null` or `-o /dev/stdout` must not rename a regular
  # file over the device node. Shown on a private node (same device as
  # /dev/null) so the test cannot break the machine.
  mknod "$W/null" c 1 3 2>/dev/null || skip "cannot create a device node here (not root, or no CAP_MKNOD)"
  status=0
  timeout -k 5 60 "$OLOT_FILTER" --mtime "$REL_MTIME" --model "$MODEL" -o "$W/null" <"$T/multiarch.tar" \
    2>"$W/stderr" || status=$?
  stderr=$(cat "$W/stderr")
  rel_assert_ok
  [[ -c $W/null ]] || {
    echo "the device node was replaced by a regular file of $(stat -c %s "$W/null") bytes" >&2
    return 1
  }
}

# --- input decoding (§3) ------------------------------------------------------

@test "compression magic in the input never makes olot-filter run an external program" {
  # §3 allows gzip and zstd. libarchive's "all filters" also hands lrzip,
  # lzop, grzip, lz4 … streams to a program of that name found on $PATH: an
  # untrusted input would pick a program to run. Fake ones record any call.
  mkdir bin
  local p
  for p in lrzip lzop grzip lz4 lzip lzma xz bzip2 zstd gzip uudecode rpm2cpio; do
    printf '#!/bin/sh\necho "%s $*" >>"%s"\ncat\n' "$p" "$W/called" >"bin/$p"
    chmod +x "bin/$p"
  done
  printf 'LRZI\000\006' >lrz.in
  printf '\211LZO\000\015\012\032\012' >lzo.in
  printf 'GRZipII\000\002\004:)' >grz.in
  for f in lrz lzo grz; do
    head -c 2048 /dev/zero >>"$f.in"
    status=0
    PATH=$W/bin:$PATH timeout -k 5 60 "$OLOT_FILTER" --mtime "$REL_MTIME" <"$f.in" >"$f.out" 2>"$W/stderr" || status=$?
    stderr=$(cat "$W/stderr")
    rel_assert_error 65
  done
  if [[ -e $W/called ]]; then
    echo "external programs were run: $(sort "$W/called" | uniq -c | tr '\n' ';')" >&2
    return 1
  fi
}
