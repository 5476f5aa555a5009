# shellcheck shell=bash
# Helpers for features.bats: reproducibility, batches, reporting, progress,
# ModelPack, layer packing, --platform and the digest cache.  Load after
# helpers (`load helpers; load features_helpers`).

# ------------------------------------------------------------- fixtures

# make_slowcat PATH — a script `PATH FILE SECONDS` that writes FILE with a
# pause of SECONDS after its first 10 KiB, so a run lasts long enough for
# the progress meter to be drawn.
make_slowcat() {
  cat >"$1" <<'EOF'
#!/usr/bin/env bash
head -c 10240 "$1"
sleep "$2"
tail -c +10241 "$1"
EOF
  chmod +x "$1"
}

# make_second_base DIR — another umoci base, for another architecture: its
# /bin/busybox differs by a few bytes (so its layer and config differ from
# the first base's) and its config says arm64.  DIR/layout, DIR/base.tar.
make_second_base() {
  local dir=$1
  mkdir -p "$dir"
  cp /bin/busybox "$dir/busybox"
  printf 'second base' >>"$dir/busybox"
  BUSYBOX=$dir/busybox "$FIXTURES/mkbase.sh" "$dir" >/dev/null
  umoci config --image "$dir/layout:latest" --architecture arm64 >/dev/null
  umoci gc --layout "$dir/layout"
  tar -C "$dir/layout" -cf "$dir/base.tar" .
}

# copy_layout LAYOUT DIR — a fresh copy of LAYOUT at DIR/layout.
copy_layout() {
  mkdir -p "$2"
  rm -rf "$2/layout"
  cp -r "$1" "$2/layout"
}

# make_two_images BASE_LAYOUT DIR — a layout with two different images:
# "latest" (the base) and "other" (the base with one more env variable),
# made with umoci config --tag.  DIR/layout, DIR/two.tar.
make_two_images() {
  local dir=$2
  copy_layout "$1" "$dir"
  umoci config --image "$dir/layout:latest" --tag other --config.env OTHER=1 >/dev/null
  tar -C "$dir/layout" -cf "$dir/two.tar" .
}

# make_untagged BASE_LAYOUT DIR — the base with no ref name on its root
# entry.  DIR/untagged.tar.
make_untagged() {
  local dir=$2
  copy_layout "$1" "$dir"
  jq -cj 'del(.manifests[0].annotations)' "$1/index.json" >"$dir/layout/index.json"
  tar -C "$dir/layout" -cf "$dir/untagged.tar" .
}

# drop_blobs LAYOUT OUT.tar DIGEST... — LAYOUT as a tar without those blobs.
drop_blobs() {
  local src=$1 out=$2 tmp=$BATS_TEST_TMPDIR/dropped d
  shift 2
  rm -rf "$tmp"
  cp -r "$src" "$tmp"
  for d in "$@"; do rm "$tmp/blobs/${d%%:*}/${d#*:}"; done
  tar -C "$tmp" -cf "$out" .
}

# ------------------------------------------------------------- documents

# root_doc DIR [N] — path of the blob of root entry N (default 0) of the
# extracted layout DIR.
root_doc() {
  blob "$1" "$(jq -r ".manifests[${2:-0}].digest" "$1/index.json")"
}

# config_doc DIR MANIFEST_PATH — path of that manifest's config blob.
config_doc() {
  blob "$1" "$(jq -r .config.digest "$2")"
}

# platform_doc DIR INDEX_PATH ARCH — path of the ARCH manifest of an index.
platform_doc() {
  blob "$1" "$(jq -r --arg a "$3" '.manifests[] | select(.platform.architecture == $a) | .digest' "$2")"
}

# model_descs MANIFEST_PATH — the new layer descriptors (those with an
# in-layer path), compact JSON array.
model_descs() {
  jq -c '[.layers[] | select(.annotations["olot.layer.content.inlayerpath"] != null)]' "$1"
}

# digest_of_stdin — sha256:HEX of stdin.
digest_of_stdin() {
  local h
  h=$(sha256sum)
  printf 'sha256:%s' "${h%% *}"
}

# ------------------------------------------------------------- trees

# tree_listing DIR — every entry below DIR: path, type, size, and the
# content's sha256 for files; bytewise sorted.
tree_listing() {
  (
    cd "$1" || exit 1
    find . -mindepth 1 -printf '%P\t%y\t%s\n' | LC_ALL=C sort | while IFS=$'\t' read -r p t s; do
      if [[ $t == f ]]; then
        printf '%s\t%s\t%s\t%s\n' "$p" "$t" "$s" "$(sha256sum <"$p" | cut -d' ' -f1)"
      else
        printf '%s\t%s\n' "$p" "$t"
      fi
    done
  )
}

# extract_model_layers DIR MANIFEST_PATH DEST — decompress (by magic:
# gzip, zstd or none) every model layer of the manifest with gzip/zstd and
# extract it with GNU tar into DEST, in layer order: the tree a consumer
# that cannot unpack the image (umoci 0.4.7 and zstd) would get.
extract_model_layers() {
  local dir=$1 man=$2 dest=$3 d f magic
  mkdir -p "$dest"
  for d in $(jq -r '.layers[] | select(.annotations["olot.layer.content.inlayerpath"] != null) | .digest' "$man"); do
    f=$(blob "$dir" "$d")
    magic=$(xxd -p -l 4 "$f")
    case $magic in
      1f8b*) gzip -dc <"$f" | tar -xf - -C "$dest" ;;
      28b52ffd) zstd -qdc <"$f" | tar -xf - -C "$dest" ;;
      *) tar -xf "$f" -C "$dest" ;;
    esac || return 1
  done
}

# uncompressed_digest BLOB — sha256 of the layer's tar bytes (decompressed
# by magic).
uncompressed_digest() {
  case $(xxd -p -l 4 "$1") in
    1f8b*) gzip -dc <"$1" | digest_of_stdin ;;
    28b52ffd) zstd -qdc <"$1" | digest_of_stdin ;;
    *) digest_of_stdin <"$1" ;;
  esac
}

# umoci_models LAYOUT_DIR DEST — umoci unpack --rootless LAYOUT_DIR:latest
# into DEST; prints nothing, fails the test if umoci fails.
umoci_models() {
  timeout -k 5 "$CMD_TIMEOUT" umoci unpack --rootless --image "$1:${3:-latest}" "$2" \
    >"$2.log" 2>&1 || fail "umoci unpack $1 failed: $(cat "$2.log")"
}

# ------------------------------------------------------------- terminal

# strip_meter FILE — what a terminal shows of FILE (a pty transcript) once
# every progress redraw ("\r<status>\e[K") is erased: CRLF becomes LF, and
# the remaining text is printed.  Fails if an escape sequence other than
# the meter's is left.
strip_meter() {
  "$PYTHON" - "$1" <<'PY'
import re, sys
s = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
s = s.replace("\r\n", "\n")
s = re.sub(r"\r[^\r\n\x1b]*\x1b\[K", "", s)
if "\x1b" in s or "\r" in s:
    sys.stderr.write("left-over control characters: %r\n" % s)
    sys.exit(1)
sys.stdout.write(s)
PY
}

# meter_draws FILE — how many progress redraws ("\rin … out …\e[K") FILE holds.
meter_draws() {
  "$PYTHON" - "$1" <<'PY'
import re, sys
s = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
print(len(re.findall(r"\rin [0-9.]+ [KMGT]?i?B +out [0-9.]+ [KMGT]?i?B[^\r\n\x1b]*\x1b\[K", s)))
PY
}

# in_pty TRANSCRIPT SCRIPT — run `bash SCRIPT` with a pseudo-terminal as
# its stdin, stdout and stderr (script(1)); the terminal's output goes to
# TRANSCRIPT.  Sets pty_status to the command's exit status.
in_pty() {
  pty_status=0
  timeout -k 5 "$CMD_TIMEOUT" script -qfec "bash $2" /dev/null >"$1" </dev/null || pty_status=$?
}

# slow_filter_in_pty IN OUT TRANSCRIPT — in_pty of `slowcat IN 1.5 |
# olot-filter --mtime -m $MODEL >OUT`: the input stalls while the meter is up.
slow_filter_in_pty() {
  local script=$BATS_TEST_TMPDIR/slow-filter.sh
  printf '%q %q 1.5 | %q --mtime %q -m %q >%q\n' "$SLOWCAT" "$1" "$OLOT_FILTER" "$MTIME" "$MODEL" "$2" >"$script"
  in_pty "$3" "$script"
}

# ------------------------------------------------------------- strace

# bytes_read_per_file PREFIX — from `strace -f -ff -y -o PREFIX`, the bytes
# read from each file under a model directory, as "BASENAME<TAB>BYTES"
# lines (symlinks show as their target).
bytes_read_per_file() {
  "$PYTHON" - "$1" <<'PY'
import collections, glob, os, re, sys
tot = collections.Counter()
for fn in glob.glob(sys.argv[1] + ".*"):
    for line in open(fn, errors="replace"):
        m = re.match(r"(?:read|pread64|readv|preadv2?)\((\d+)<([^>]*)>.*\)\s+=\s+(\d+)", line)
        if m and "/model" in m.group(2):
            tot[m.group(2)] += int(m.group(3))
for p in sorted(tot):
    print("%s\t%d" % (p, tot[p]))
PY
}

# meter_erased FILE — succeeds if the last progress frame in FILE (a pty
# transcript) is followed by an erase ("\r\e[K"), so whatever comes next
# starts on a clean line; fails (and says what follows) otherwise.
meter_erased() {
  "$PYTHON" - "$1" <<'PY'
import re, sys
s = open(sys.argv[1], "rb").read().decode("utf-8", "replace")
frames = list(re.finditer(r"\rin [0-9.]+ [KMGT]?i?B +out [^\r\n\x1b]*\x1b\[K", s))
if not frames:
    sys.exit("no progress frame at all")
rest = s[frames[-1].end():]
if not rest.startswith("\r\x1b[K"):
    sys.exit("the last frame is not erased; what follows it: %r" % rest[:200])
PY
}
