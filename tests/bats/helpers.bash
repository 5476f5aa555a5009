# shellcheck shell=bash
# Shared helpers for the olot-filter bats tests.  Load with `load helpers`.
#
# The binary under test is $OLOT_FILTER (default: build/olot-filter of this
# checkout).  Everything a test writes goes to $BATS_FILE_TMPDIR or
# $BATS_TEST_TMPDIR, which bats removes.  Registries listen on 127.0.0.1 only.

bats_require_minimum_version 1.5.0

_bats_lib=${BATS_LIB_DIR:-/usr/lib/bats}
load "$_bats_lib/bats-support/load"
load "$_bats_lib/bats-assert/load"

TESTS_DIR=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
REPO_DIR=$(cd "$TESTS_DIR/.." && pwd)
FIXTURES=$TESTS_DIR/fixtures
OCICHECK=$TESTS_DIR/lib/ocicheck.py
# Debian's python3 starts faster than a pyenv shim; any python3 >= 3.8 does.
if [[ -z ${PYTHON:-} ]]; then
  if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
export PYTHON
: "${OLOT_FILTER:=$REPO_DIR/build/olot-filter}"
export OLOT_FILTER

# The fixed build time used by most tests, and its RFC 3339 form.
MTIME=1700000000
MTIME_RFC3339=2023-11-14T22:13:20Z
# Upper bound for any single command, so a hang fails a test instead of the suite.
CMD_TIMEOUT=${OLOT_TEST_TIMEOUT:-120}

# Exported for all the subshells: skopeo and umoci keep their scratch files
# in the test's temp dir.
export TMPDIR=${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-${TMPDIR:-/tmp}}}

require_binary() {
  [[ -x $OLOT_FILTER ]] || {
    echo "OLOT_FILTER=$OLOT_FILTER is not an executable (run make first)" >&2
    return 1
  }
}

# olot_filter ARGS... — the binary under test, bounded in time.
olot_filter() {
  timeout -k 5 "$CMD_TIMEOUT" "$OLOT_FILTER" "$@"
}

# run_filter IN OUT ARGS... — olot_filter ARGS <IN >OUT; sets $status,
# $stderr (whole text) and ${stderr_lines[@]}; never fails by itself.
run_filter() {
  local in=$1 out=$2
  shift 2
  status=0
  olot_filter "$@" <"$in" >"$out" 2>"$BATS_TEST_TMPDIR/stderr" || status=$?
  stderr=$(cat "$BATS_TEST_TMPDIR/stderr")
  mapfile -t stderr_lines <"$BATS_TEST_TMPDIR/stderr"
}

# index_json_count TAR — how many index.json entries a (maybe broken) tar has.
index_json_count() {
  { tar -tf "$1" 2>/dev/null || true; } | grep -cx 'index.json' || true
}

# error_lines — the stderr lines of the last run_filter that are not warnings.
error_lines() {
  local l
  for l in "${stderr_lines[@]}"; do
    [[ $l == "olot-filter: warning:"* ]] || printf '%s\n' "$l"
  done
}

# assert_refused STATUS OUT [NEEDLE...] — after run_filter: the exit status
# is STATUS, stderr is exactly one line, it starts with "olot-filter: ", is
# not a warning and contains every NEEDLE; OUT holds no index.json.
assert_refused() {
  local want=$1 out=$2 n
  shift 2
  if [[ $status != "$want" ]]; then
    fail "exit status $status, expected $want; stderr: $stderr"
  fi
  if (( ${#stderr_lines[@]} != 1 )); then
    fail "expected exactly one line on stderr, got ${#stderr_lines[@]}: $stderr"
  fi
  [[ ${stderr_lines[0]} == "olot-filter: "* ]] || fail "stderr does not start with 'olot-filter: ': $stderr"
  [[ ${stderr_lines[0]} != "olot-filter: warning:"* ]] || fail "the only stderr line is a warning: $stderr"
  for n in "$@"; do
    [[ ${stderr_lines[0]} == *"$n"* ]] || fail "stderr does not name '$n': $stderr"
  done
  local c
  c=$(index_json_count "$out")
  [[ $c == 0 ]] || fail "the refused output holds $c index.json entr(y/ies)"
}

# assert_ok — after run_filter: exit 0 and no error lines (warnings and
# informational lines prefixed "olot-filter: " are allowed).
assert_ok() {
  [[ $status == 0 ]] || fail "olot-filter exited $status: $stderr"
  local l
  for l in "${stderr_lines[@]}"; do
    [[ $l == "olot-filter: "* ]] || fail "stderr line without the olot-filter: prefix: $l"
  done
}

# check_output TAR [ocicheck graph options] — G1, G2, G3, G4, G6, G7, §8 order.
check_output() {
  local tar=$1
  shift
  run "$PYTHON" "$OCICHECK" hygiene "$tar"
  [[ $status == 0 ]] || fail "output hygiene (G6, §8) of $tar:"$'\n'"$output"
  run "$PYTHON" "$OCICHECK" graph "$tar" "$@"
  [[ $status == 0 ]] || fail "output graph (G1-G4, G7) of $tar:"$'\n'"$output"
}

# extract TAR DIR — a consumer's view of the output.
extract() {
  mkdir -p "$2"
  tar -xf "$1" -C "$2"
}

# blob DIR DIGEST — path of the blob DIGEST in the extracted layout DIR.
blob() {
  printf '%s/blobs/%s/%s' "$1" "${2%%:*}" "${2#*:}"
}

# doc DIR DIGEST — cat the blob.
doc() {
  cat "$(blob "$1" "$2")"
}

sha256_of() {
  local h
  h=$(sha256sum <"$1")
  printf 'sha256:%s' "${h%% *}"
}

# build_base DIR — the umoci busybox base (DIR/layout, DIR/base.tar), built
# once per test file.
build_base() {
  [[ -f $1/base.tar ]] || "$FIXTURES/mkbase.sh" "$1" >/dev/null
}

# model_files DIR — relative paths of the files under DIR (symlinks to files
# count as files), bytewise sorted: the order olot-filter adds them in.
model_files() {
  (cd "$1" && find -L . -type f -printf '%P\n' | LC_ALL=C sort)
}

# ------------------------------------------------------- image assertions

# filter_variant NAME OUT [ARGS] — tar -C v/NAME -cf - . | olot-filter
# --mtime --model model --modelcard model/README.md ARGS > OUT, checked for
# success and G1-G7; the output is extracted to OUT.d.
filter_variant() {
  local name=$1 out=$2
  shift 2
  tar -C "${V:?}/$name" -cf "$BATS_TEST_TMPDIR/$name.in.tar" .
  run_filter "$BATS_TEST_TMPDIR/$name.in.tar" "$out" --mtime "$MTIME" --model model --modelcard model/README.md "$@"
  assert_ok
  check_output "$out"
  extract "$out" "$out.d"
}

# pulled_config LAYOUT — the image config of the one image in LAYOUT.
pulled_config() {
  local m
  m=$(blob "$1" "$(jq -r '.manifests[0].digest' "$1/index.json")")
  blob "$1" "$(jq -r .config.digest "$m")"
}

# images OUT — the image manifests reachable from index.json, as JSON lines.
images() {
  "$PYTHON" "$OCICHECK" images "$1"
}

# assert_both_platforms_modelcar OUT — two image manifests (amd64 and
# arm64/v8), each the base layer plus the model layers, the same model
# layer descriptors in both.
assert_both_platforms_modelcar() {
  local out=$1 d=$1.d ims amd arm nmodel
  ims=$(images "$out")
  assert_equal "$(wc -l <<<"$ims")" 2
  amd=$(jq -r 'select(.platform.architecture == "amd64") | .digest' <<<"$ims")
  arm=$(jq -r 'select(.platform.architecture == "arm64" and .platform.variant == "v8") | .digest' <<<"$ims")
  [[ -n $amd && -n $arm ]] || fail "platforms lost: $ims"
  nmodel=$(model_files "${MODEL:?}" | wc -l)
  assert_equal "$(jq '.layers | length' "$(blob "$d" "$amd")")" $((1 + nmodel))
  assert_equal "$(jq -c '.layers[1:]' "$(blob "$d" "$amd")")" "$(jq -c '.layers[1:]' "$(blob "$d" "$arm")")"
  # and their configs kept their architecture
  assert_equal "$(jq -r .architecture "$(blob "$d" "$(jq -r .config.digest "$(blob "$d" "$amd")")")")" amd64
  assert_equal "$(jq -r .architecture "$(blob "$d" "$(jq -r .config.digest "$(blob "$d" "$arm")")")")" arm64
  # the shared layers are stored once
  run bash -c "tar -tf '$out' | sort | uniq -d"
  assert_output ''
}

# ---------------------------------------------------------------- registry

# registry_start — a throwaway distribution registry on 127.0.0.1 with a
# port the kernel picks and storage in $BATS_FILE_TMPDIR.  Exports
# REGISTRY=127.0.0.1:PORT.  Call from setup_file; registry_stop in teardown_file.
registry_start() {
  local dir=$BATS_FILE_TMPDIR/registry line port='' fd
  mkdir -p "$dir/storage"
  cat >"$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
  formatter: text
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:0
  secret: olot-filter-tests-throwaway
EOF
  rm -f "$dir/log.fifo"
  mkfifo "$dir/log.fifo"
  # The registry logs "listening on 127.0.0.1:PORT" once the socket is
  # bound: read its log through a FIFO until that line, then keep draining.
  docker-registry serve "$dir/config.yml" </dev/null >"$dir/stdout.log" 2>"$dir/log.fifo" 3>&- &
  REGISTRY_PID=$!
  exec {fd}<"$dir/log.fifo"
  while IFS= read -r -t 30 line <&"$fd"; do
    printf '%s\n' "$line" >>"$dir/registry.log"
    if [[ $line =~ listening\ on\ 127\.0\.0\.1:([0-9]+) ]]; then
      port=${BASH_REMATCH[1]}
      break
    fi
  done
  cat <&"$fd" >>"$dir/registry.log" 3>&- &
  REGISTRY_DRAIN_PID=$!
  exec {fd}<&-
  export REGISTRY_PID REGISTRY_DRAIN_PID
  if [[ -z $port ]]; then
    registry_stop
    echo "docker-registry did not start:" >&2
    cat "$dir/registry.log" >&2
    return 1
  fi
  export REGISTRY=127.0.0.1:$port
}

registry_stop() {
  if [[ -n ${REGISTRY_PID:-} ]]; then
    kill "$REGISTRY_PID" 2>/dev/null || true
    wait "$REGISTRY_PID" 2>/dev/null || true
    # not our child (another shell started it): wait for it to be gone
    if kill -0 "$REGISTRY_PID" 2>/dev/null; then
      timeout 10 tail --pid="$REGISTRY_PID" -f /dev/null || kill -9 "$REGISTRY_PID" 2>/dev/null || true
    fi
  fi
  if [[ -n ${REGISTRY_DRAIN_PID:-} ]]; then
    wait "$REGISTRY_DRAIN_PID" 2>/dev/null || true
  fi
  rm -rf "$BATS_FILE_TMPDIR/registry/storage"
  unset REGISTRY_PID REGISTRY_DRAIN_PID REGISTRY
}

# skopeo_ ARGS — skopeo against the local registry: no signature policy,
# plain HTTP, bounded in time.
skopeo_() {
  timeout -k 5 "$CMD_TIMEOUT" skopeo --insecure-policy "$@"
}

# to_registry_via_fifo DEST SKOPEO_COPY_OPTS... -- PRODUCER...
# Runs PRODUCER (a command writing a tar on stdout) into a named pipe that
# `skopeo copy OPTS oci-archive:FIFO docker://$REGISTRY/DEST` reads (skopeo
# cannot read an anonymous pipe).  The stream is also saved to
# $BATS_TEST_TMPDIR/stream.tar.  Sets producer_status, skopeo_status and
# $skopeo_log.
to_registry_via_fifo() {
  local dest=$1 fifo=$BATS_TEST_TMPDIR/stream.fifo fd
  shift
  local opts=()
  while [[ $1 != -- ]]; do opts+=("$1"); shift; done
  shift
  rm -f "$fifo"
  mkfifo "$fifo"
  ( "$@" | tee "$BATS_TEST_TMPDIR/stream.tar" >"$fifo"; exit "${PIPESTATUS[0]}" ) \
    2>"$BATS_TEST_TMPDIR/producer.stderr" 3>&- &
  local producer=$!
  skopeo_status=0
  skopeo_ copy --dest-tls-verify=false "${opts[@]}" "oci-archive:$fifo" "docker://$REGISTRY/$dest" \
    >"$BATS_TEST_TMPDIR/skopeo.log" 2>&1 || skopeo_status=$?
  # If skopeo died before opening the FIFO, the producer is blocked opening
  # it: a read-write open never blocks and releases it.
  exec {fd}<>"$fifo"
  exec {fd}<&-
  producer_status=0
  wait "$producer" || producer_status=$?
  skopeo_log=$(cat "$BATS_TEST_TMPDIR/skopeo.log")
  stderr=$(cat "$BATS_TEST_TMPDIR/producer.stderr")
  mapfile -t stderr_lines <"$BATS_TEST_TMPDIR/producer.stderr"
}

# pull_and_unpack REF DIR [skopeo copy options] — skopeo copy
# docker://$REGISTRY/REF oci:DIR/pulled:1, then umoci unpack --rootless into
# DIR/bundle.
pull_and_unpack() {
  local ref=$1 dir=$2
  shift 2
  mkdir -p "$dir"
  skopeo_ copy --src-tls-verify=false "$@" "docker://$REGISTRY/$ref" "oci:$dir/pulled:1" \
    >"$dir/pull.log" 2>&1 || fail "skopeo copy docker://$REGISTRY/$ref failed: $(cat "$dir/pull.log")"
  timeout -k 5 "$CMD_TIMEOUT" umoci unpack --rootless --image "$dir/pulled:1" "$dir/bundle" \
    >"$dir/unpack.log" 2>&1 || fail "umoci unpack failed: $(cat "$dir/unpack.log")"
}

# assert_models_match MODEL_DIR ROOTFS_MODELS [MODELCARD] — every file under
# MODEL_DIR (symlinks followed) is a regular file with the same bytes under
# ROOTFS_MODELS, and nothing else is there.
assert_models_match() {
  local model=$1 got=$2 f
  [[ -d $got ]] || fail "$got does not exist"
  run diff -r "$model" "$got"
  [[ $status == 0 ]] || fail "diff -r $model $got:"$'\n'"$output"
  while IFS= read -r f; do
    [[ -f $got/$f && ! -L $got/$f ]] || fail "/models/$f is not a regular file in the image"
  done < <(model_files "$model")
  run bash -c "cd '$got' && find . ! -type d -printf '%P\n' | LC_ALL=C sort"
  assert_output "$(model_files "$model")"
}
