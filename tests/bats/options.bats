#!/usr/bin/env bats
# Options of SPEC §2 that change what a consumer sees: --prefix,
# --compression, --exclude / .git, --pack-small, --tag, --label,
# --annotation, --digest-file, --report, --dry-run.

load helpers

setup_file() {
  require_binary
  build_base "$BATS_FILE_TMPDIR/base"
  "$FIXTURES/mkmodel.sh" "$BATS_FILE_TMPDIR/model"
}

setup() {
  BASE_TAR=$BATS_FILE_TMPDIR/base/base.tar
  MODEL=$BATS_FILE_TMPDIR/model
  cd "$BATS_FILE_TMPDIR"
}

# filter OUT ARGS — olot-filter --mtime ARGS < base.tar > OUT, must succeed;
# extracted to OUT.d; sets MANIFEST and CONFIG (paths of the blobs).
filter() {
  local out=$1
  shift
  run_filter "$BASE_TAR" "$out" --mtime "$MTIME" "$@"
  assert_ok
  check_output "$out"
  extract "$out" "$out.d"
  MANIFEST=$(blob "$out.d" "$(jq -r '.manifests[0].digest' "$out.d/index.json")")
  CONFIG=$(blob "$out.d" "$(jq -r .config.digest "$MANIFEST")")
}

unpack() {
  run timeout 60 umoci unpack --rootless --image "$1:${3:-latest}" "$2"
  assert_success
}

@test "option: --prefix puts the model elsewhere, and umoci finds it there" {
  filter "$BATS_TEST_TMPDIR/out.tar" --prefix /opt/model --model model
  run jq -r '.layers[1:][].annotations["olot.layer.content.inlayerpath"]' "$MANIFEST"
  assert_output "$(model_files "$MODEL" | sed 's,^,/opt/model/,')"
  unpack "$BATS_TEST_TMPDIR/out.tar.d" "$BATS_TEST_TMPDIR/bundle"
  assert_models_match "$MODEL" "$BATS_TEST_TMPDIR/bundle/rootfs/opt/model"
  [[ ! -e $BATS_TEST_TMPDIR/bundle/rootfs/models ]] || fail "/models exists too"
}

@test "option: --compression gzip: +gzip layers whose gunzipped digest is the diff_id; umoci unpacks them" {
  filter "$BATS_TEST_TMPDIR/out.tar" --compression gzip --model model
  local i n d
  n=$(jq '.layers | length' "$MANIFEST")
  for ((i = 1; i < n; i++)); do
    d=$(jq -r ".layers[$i].digest" "$MANIFEST")
    assert_equal "$(jq -r ".layers[$i].mediaType" "$MANIFEST")" application/vnd.oci.image.layer.v1.tar+gzip
    assert_equal "sha256:$(gzip -dc <"$(blob "$BATS_TEST_TMPDIR/out.tar.d" "$d")" | sha256sum | cut -d' ' -f1)" \
      "$(jq -r ".rootfs.diff_ids[$i]" "$CONFIG")"
  done
  unpack "$BATS_TEST_TMPDIR/out.tar.d" "$BATS_TEST_TMPDIR/bundle"
  assert_models_match "$MODEL" "$BATS_TEST_TMPDIR/bundle/rootfs/models"
}

@test "option: --compression zstd: +zstd layers whose decompressed digest is the diff_id; the modelcard stays gzip" {
  filter "$BATS_TEST_TMPDIR/out.tar" --compression zstd --model model --modelcard model/README.md
  local i n d f
  n=$(jq '.layers | length' "$MANIFEST")
  for ((i = 1; i < n - 1; i++)); do
    d=$(jq -r ".layers[$i].digest" "$MANIFEST")
    f=$(blob "$BATS_TEST_TMPDIR/out.tar.d" "$d")
    assert_equal "$(jq -r ".layers[$i].mediaType" "$MANIFEST")" application/vnd.oci.image.layer.v1.tar+zstd
    assert_equal "$(xxd -p -l 4 "$f")" 28b52ffd
    assert_equal "sha256:$(zstd -dc <"$f" | sha256sum | cut -d' ' -f1)" "$(jq -r ".rootfs.diff_ids[$i]" "$CONFIG")"
  done
  assert_equal "$(jq -r '.layers[-1].mediaType' "$MANIFEST")" application/vnd.oci.image.layer.v1.tar+gzip
}

@test "option: .git/ is skipped by default, kept with --include-vcs; --exclude skips matches" {
  local m=$BATS_TEST_TMPDIR/model
  cp -a "$MODEL" "$m"
  mkdir -p "$m/.git/objects"
  echo 'ref: refs/heads/main' >"$m/.git/HEAD"
  filter "$BATS_TEST_TMPDIR/a.tar" --model "$m"
  run jq -r '.layers[].annotations["olot.layer.content.inlayerpath"] // empty' "$MANIFEST"
  refute_output --partial '.git'
  filter "$BATS_TEST_TMPDIR/b.tar" --model "$m" --include-vcs
  run jq -r '.layers[].annotations["olot.layer.content.inlayerpath"] // empty' "$MANIFEST"
  assert_line /models/.git/HEAD
  filter "$BATS_TEST_TMPDIR/c.tar" --model "$m" --exclude '*.txt'
  run jq -r '.layers[].annotations["olot.layer.content.inlayerpath"] // empty' "$MANIFEST"
  refute_output --partial '.txt'
  assert_line /models/config.json
}

@test "option: --pack-small puts the small files in one layer; the image has the same files" {
  filter "$BATS_TEST_TMPDIR/out.tar" --pack-small 1024 --model model
  # files under 1 KiB share one layer: only weights.bin and its link are bigger
  local small big
  small=$(cd "$MODEL" && find -L . -type f -size -1024c | wc -l)
  big=$(cd "$MODEL" && find -L . -type f -size +1023c | wc -l)
  assert_equal "$(jq '.layers | length' "$MANIFEST")" $((1 + big + 1))
  assert_equal "$(jq '[.history[] | select(.empty_layer != true)] | length' "$CONFIG")" $((1 + big + 1))
  ((small > 1))
  unpack "$BATS_TEST_TMPDIR/out.tar.d" "$BATS_TEST_TMPDIR/bundle"
  assert_models_match "$MODEL" "$BATS_TEST_TMPDIR/bundle/rootfs/models"
}

@test "option: --tag, --label and --annotation land where a consumer looks" {
  filter "$BATS_TEST_TMPDIR/out.tar" --model model --tag v2 --label org.example.k=v1 --annotation org.example.a=b
  assert_equal "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$BATS_TEST_TMPDIR/out.tar.d/index.json")" v2
  assert_equal "$(jq -r '.config.Labels["org.example.k"]' "$CONFIG")" v1
  assert_equal "$(jq -r '.annotations["org.example.a"]' "$MANIFEST")" b
  run skopeo_ inspect "oci-archive:$BATS_TEST_TMPDIR/out.tar:v2"
  assert_success
  assert_equal "$(jq -r '.Labels["org.example.k"]' <<<"$output")" v1
}

@test "option: --digest-file holds the new manifest digest" {
  filter "$BATS_TEST_TMPDIR/out.tar" --model model --digest-file "$BATS_TEST_TMPDIR/digests"
  run cat "$BATS_TEST_TMPDIR/digests"
  assert_output "$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/out.tar.d/index.json")"
}

@test "option: --report lists every added layer with the digests in the manifest" {
  filter "$BATS_TEST_TMPDIR/out.tar" --model model --modelcard model/README.md --report "$BATS_TEST_TMPDIR/report.json"
  run jq -e . "$BATS_TEST_TMPDIR/report.json"
  assert_success
  local d
  for d in $(jq -r '.layers[1:][].digest' "$MANIFEST"); do
    grep -q "$d" "$BATS_TEST_TMPDIR/report.json" || fail "report does not mention layer $d"
  done
  grep -q "$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/out.tar.d/index.json")" "$BATS_TEST_TMPDIR/report.json" ||
    fail "report does not mention the new manifest digest"
}

@test "option: --dry-run reads everything, writes nothing on stdout, prints the plan on stderr" {
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/out" --mtime "$MTIME" --model model --dry-run
  # the plan is the output of --dry-run: its lines need not be "olot-filter: " messages
  [[ $status == 0 ]] || fail "exit $status: $stderr"
  [[ ! -s $BATS_TEST_TMPDIR/out ]] || fail "--dry-run wrote $(stat -c %s "$BATS_TEST_TMPDIR/out") bytes on stdout"
  [[ $stderr == *models/config.json* ]] || fail "the plan does not mention the files: $stderr"
}
