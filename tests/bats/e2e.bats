#!/usr/bin/env bats
# End to end, single-arch: a real umoci base image, a model directory with
# the awkward cases, olot-filter streaming into skopeo through a FIFO, a real
# registry on 127.0.0.1, and what skopeo and umoci see afterwards.

load helpers

setup_file() {
  require_binary
  build_base "$BATS_FILE_TMPDIR/base"
  "$FIXTURES/mkmodel.sh" "$BATS_FILE_TMPDIR/model"
  registry_start
}

teardown_file() {
  registry_stop
}

setup() {
  BASE=$BATS_FILE_TMPDIR/base
  MODEL=$BATS_FILE_TMPDIR/model
  OUT=$BATS_FILE_TMPDIR/out.tar
  O=$BATS_FILE_TMPDIR/o
  cd "$BATS_FILE_TMPDIR"
}

# main_output — the ModelCar made with -o from `tar -C layout -cf - .`,
# made once per file, extracted to $O.  Fails the calling test if
# olot-filter failed.
main_output() {
  if [[ ! -f $BATS_FILE_TMPDIR/main.rc ]]; then
    local rc=0
    tar -C "$BASE/layout" -cf - . |
      olot_filter --mtime "$MTIME" --model model --modelcard model/README.md -o "$OUT" \
        >"$BATS_FILE_TMPDIR/main.stdout" 2>"$BATS_FILE_TMPDIR/main.stderr" || rc=$?
    echo "$rc" >"$BATS_FILE_TMPDIR/main.rc"
    [[ $rc != 0 ]] || extract "$OUT" "$O"
  fi
  [[ $(cat "$BATS_FILE_TMPDIR/main.rc") == 0 ]] ||
    fail "olot-filter -o failed ($(cat "$BATS_FILE_TMPDIR/main.rc")): $(cat "$BATS_FILE_TMPDIR/main.stderr")"
  MANIFEST_DIGEST=$(jq -r '.manifests[0].digest' "$O/index.json")
  MANIFEST=$(blob "$O" "$MANIFEST_DIGEST")
  CONFIG=$(blob "$O" "$(jq -r .config.digest "$MANIFEST")")
  BASE_MANIFEST_DIGEST=$(jq -r '.manifests[0].digest' "$BASE/layout/index.json")
  BASE_MANIFEST=$(blob "$BASE/layout" "$BASE_MANIFEST_DIGEST")
  BASE_CONFIG=$(blob "$BASE/layout" "$(jq -r .config.digest "$BASE_MANIFEST")")
}

# pushed — the FIFO run, pushed to the registry as test/modelcar:1, once.
pushed() {
  if [[ ! -f $BATS_FILE_TMPDIR/push.rc ]]; then
    to_registry_via_fifo test/modelcar:1 --preserve-digests -- \
      bash -c 'tar -C "$1" -cf - . | timeout -k 5 120 "$0" "${@:2}"' "$OLOT_FILTER" "$BASE/layout" \
      --mtime "$MTIME" --model model --modelcard model/README.md
    echo "$producer_status $skopeo_status" >"$BATS_FILE_TMPDIR/push.rc"
    printf '%s\n' "$skopeo_log" >"$BATS_FILE_TMPDIR/push.skopeo.log"
    printf '%s\n' "$stderr" >"$BATS_FILE_TMPDIR/push.stderr"
    cp "$BATS_TEST_TMPDIR/stream.tar" "$BATS_FILE_TMPDIR/stream.tar" 2>/dev/null || true
  fi
  [[ $(cat "$BATS_FILE_TMPDIR/push.rc") == "0 0" ]] ||
    fail "FIFO push failed (olot-filter, skopeo exit: $(cat "$BATS_FILE_TMPDIR/push.rc")):
olot-filter: $(cat "$BATS_FILE_TMPDIR/push.stderr")
skopeo: $(cat "$BATS_FILE_TMPDIR/push.skopeo.log")"
}

# added_layers — the layer descriptors after the base's, one JSON per line.
added_layers() {
  local n
  n=$(jq '.layers | length' "$BASE_MANIFEST")
  jq -c ".layers[$n:][]" "$MANIFEST"
}

@test "e2e: olot-filter streams a ModelCar through a FIFO into skopeo copy --preserve-digests" {
  pushed
  main_output
  # the streamed tar is the -o tar, byte for byte (same input, same --mtime)
  run cmp "$BATS_FILE_TMPDIR/stream.tar" "$OUT"
  assert_success
  # nothing but informational lines on stderr
  run cat "$BATS_FILE_TMPDIR/push.stderr"
  refute_output --partial 'error'
}

@test "e2e: -o writes the tar and nothing goes to stdout" {
  main_output
  [[ ! -s $BATS_FILE_TMPDIR/main.stdout ]] || fail "stdout with -o: $(head -c 200 "$BATS_FILE_TMPDIR/main.stdout")"
  check_output "$OUT"
  # no temporary file left beside the output
  run find "$BATS_FILE_TMPDIR" -maxdepth 1 -name 'out.tar?*'
  assert_output ''
}

@test "e2e: output hygiene (G6, G1): unique names, oci-layout first, index.json last, no ./, blobs match their names" {
  main_output
  run bash -c "tar -tf '$OUT' | sort | uniq -d"
  assert_output ''
  assert_equal "$(tar -tf "$OUT" | head -1)" oci-layout
  assert_equal "$(tar -tf "$OUT" | tail -1)" index.json
  assert_equal "$(tar -tf "$OUT" | grep -cx index.json)" 1
  assert_equal "$(tar -tf "$OUT" | grep -c '^\./\|^/' || true)" 0
  assert_equal "$(tar -xOf "$OUT" oci-layout)" '{"imageLayoutVersion":"1.0.0"}'
  local f
  for f in "$O"/blobs/sha256/*; do
    assert_equal "$(sha256sum <"$f" | cut -d' ' -f1)" "${f##*/}"
  done
  # G2 and the rest: every descriptor resolves with the right size
  check_output "$OUT"
}

@test "e2e: the digest skopeo inspect reports is the manifest digest in index.json" {
  pushed
  main_output
  run skopeo_ inspect --tls-verify=false --raw "docker://$REGISTRY/test/modelcar:1"
  assert_success
  local raw_digest
  raw_digest=sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)
  assert_equal "$raw_digest" "$MANIFEST_DIGEST"
  # the registry serves exactly the manifest olot-filter wrote
  assert_equal "$output" "$(cat "$MANIFEST")"
  run skopeo_ inspect --tls-verify=false "docker://$REGISTRY/test/modelcar:1"
  assert_success
  assert_equal "$(jq -r .Digest <<<"$output")" "$MANIFEST_DIGEST"
  assert_equal "$(jq -c .Layers <<<"$output")" "$(jq -c '[.layers[].digest]' "$MANIFEST")"
}

@test "e2e: umoci unpack of the pulled image has the model under /models, byte for byte" {
  pushed
  pull_and_unpack test/modelcar:1 "$BATS_TEST_TMPDIR/pull"
  local rootfs=$BATS_TEST_TMPDIR/pull/bundle/rootfs
  assert_models_match "$MODEL" "$rootfs/models"
  # the symlink's target content is a regular file at the link's path
  [[ -f $rootfs/models/link-to-weights.bin && ! -L $rootfs/models/link-to-weights.bin ]]
  cmp "$MODEL/sub/nested/weights.bin" "$rootfs/models/link-to-weights.bin"
  # the modelcard is at /models/README.md
  cmp "$MODEL/README.md" "$rootfs/models/README.md"
  # the empty file and the Unicode name made it
  [[ -f $rootfs/models/empty.txt && ! -s $rootfs/models/empty.txt ]]
  cmp "$MODEL/special tokens – ünïcødé 模型.txt" "$rootfs/models/special tokens – ünïcødé 模型.txt"
  # the base is still there
  cmp /bin/busybox "$rootfs/bin/busybox"
}

@test "e2e: one layer per model file in bytewise path order, then the modelcard" {
  main_output
  local want
  want=$(model_files "$MODEL" | grep -vx README.md | sed 's,^,/models/,'; echo /models/README.md)
  run bash -c "jq -r '.layers[1:][].annotations[\"olot.layer.content.inlayerpath\"]' '$MANIFEST'"
  assert_success
  assert_output "$want"
  # the base layer is untouched and first
  assert_equal "$(jq -c '.layers[0]' "$MANIFEST")" "$(jq -c '.layers[0]' "$BASE_MANIFEST")"
}

@test "e2e: layer annotations are olot's (SPEC §6.3)" {
  main_output
  local d path rel base n=0
  while IFS= read -r d; do
    path=$(jq -r '.annotations["olot.layer.content.inlayerpath"]' <<<"$d")
    rel=${path#/models/}
    base=${rel##*/}
    assert_equal "$(jq -r '.annotations["org.opencontainers.image.title"]' <<<"$d")" "$base"
    assert_equal "$(jq -r '.annotations["olot.layer.content.name"]' <<<"$d")" "$base"
    assert_equal "$(jq -r '.annotations["olot.layer.content.type"]' <<<"$d")" file
    assert_equal "$(jq -r '.annotations["olot.layer.content.digest"]' <<<"$d")" "$(sha256_of "$MODEL/$rel")"
    if [[ $rel == README.md ]]; then
      assert_equal "$(jq -r '.annotations["io.opendatahub.modelcar.layer.type"]' <<<"$d")" modelcard
      assert_equal "$(jq -r '.annotations["io.opendatahub.layers.modelcard"]' "$MANIFEST")" "$(jq -r .digest <<<"$d")"
    else
      assert_equal "$(jq -r '.annotations["io.opendatahub.modelcar.layer.type"] // "none"' <<<"$d")" none
    fi
    n=$((n + 1))
  done < <(added_layers)
  assert_equal "$n" "$(model_files "$MODEL" | wc -l)"
  assert_equal "$(jq -r '.annotations["io.opendatahub.author"]' "$MANIFEST")" olot
  assert_equal "$(jq -r '.annotations["org.opencontainers.image.base.digest"]' "$MANIFEST")" "$BASE_MANIFEST_DIGEST"
}

@test "e2e: layer media types and diff_ids (G5): tar layers digest == diff_id, modelcard sha256(gunzip) == diff_id" {
  main_output
  local nbase i=0 d digest mt diff_id
  nbase=$(jq '.layers | length' "$BASE_MANIFEST")
  # the base diff_ids come first, unchanged
  assert_equal "$(jq -c ".rootfs.diff_ids[:$nbase]" "$CONFIG")" "$(jq -c .rootfs.diff_ids "$BASE_CONFIG")"
  while IFS= read -r d; do
    digest=$(jq -r .digest <<<"$d")
    mt=$(jq -r .mediaType <<<"$d")
    diff_id=$(jq -r ".rootfs.diff_ids[$((nbase + i))]" "$CONFIG")
    assert_equal "$(sha256_of "$(blob "$O" "$digest")")" "$digest"
    assert_equal "$(jq -r .size <<<"$d")" "$(stat -c %s "$(blob "$O" "$digest")")"
    if [[ $(jq -r '.annotations["io.opendatahub.modelcar.layer.type"] // ""' <<<"$d") == modelcard ]]; then
      assert_equal "$mt" application/vnd.oci.image.layer.v1.tar+gzip
      assert_equal "$(xxd -p -l 2 "$(blob "$O" "$digest")")" 1f8b
      assert_equal "sha256:$(gzip -dc <"$(blob "$O" "$digest")" | sha256sum | cut -d' ' -f1)" "$diff_id"
    else
      assert_equal "$mt" application/vnd.oci.image.layer.v1.tar
      assert_equal "$digest" "$diff_id"
    fi
    i=$((i + 1))
  done < <(added_layers)
  assert_equal "$(jq '.rootfs.diff_ids | length' "$CONFIG")" "$((nbase + i))"
}

@test "e2e: layer tars: GNU format, parent directories first (0775), files 0664, root-owned, relative names" {
  main_output
  local d digest path rel listing want_dirs got_dirs p dir
  while IFS= read -r d; do
    digest=$(jq -r .digest <<<"$d")
    path=$(jq -r '.annotations["olot.layer.content.inlayerpath"]' <<<"$d")
    rel=${path#/models/}
    listing=$("$PYTHON" "$OCICHECK" layer "$(blob "$O" "$digest")")
    # complete tar: ends with the end-of-archive blocks
    assert_equal "$(jq '.[-1].end_of_archive' <<<"$listing")" true
    listing=$(jq -c '.[:-1]' <<<"$listing")
    # every entry: GNU header, uid/gid 0, empty user/group names, no
    # leading '/', no pax records (no xattrs, no atime)
    assert_equal "$(jq -c '[.[] | select(.magic != "gnu")] | length' <<<"$listing")" 0
    assert_equal "$(jq -c '[.[] | select(.uid != 0 or .gid != 0 or .uname != "" or .gname != "")] | length' <<<"$listing")" 0
    assert_equal "$(jq -c '[.[] | select(.name | startswith("/") or startswith("./"))] | length' <<<"$listing")" 0
    assert_equal "$(jq -c '[.[] | .pax[]] | length' <<<"$listing")" 0
    # the file is the last entry: mode 0664, mtime clamped to --mtime, the model bytes
    assert_equal "$(jq -r '.[-1].name' <<<"$listing")" "models/$rel"
    assert_equal "$(jq -r '.[-1].type' <<<"$listing")" file
    assert_equal "$(jq -r '.[-1].mode' <<<"$listing")" $((8#664))
    assert_equal "$(jq -r '.[-1].mtime' <<<"$listing")" "$MTIME"
    assert_equal "sha256:$(jq -r '.[-1].sha256' <<<"$listing")" "$(sha256_of "$MODEL/$rel")"
    # before it, exactly its parent directories, outermost first, mode 0775
    want_dirs=models
    p=models
    dir=
    [[ $rel == */* ]] && dir=${rel%/*}
    while [[ -n $dir ]]; do
      p=$p/${dir%%/*}
      want_dirs+=$'\n'$p
      if [[ $dir == */* ]]; then dir=${dir#*/}; else dir=; fi
    done
    got_dirs=$(jq -r '.[:-1][] | .name | rtrimstr("/")' <<<"$listing")
    assert_equal "$got_dirs" "$want_dirs"
    assert_equal "$(jq -c '[.[:-1][] | select(.type != "dir" or .mode != 509)] | length' <<<"$listing")" 0
  done < <(added_layers)
}

@test "e2e: history matches the layers (G4); new entries and created come from --mtime" {
  main_output
  local nonempty layers diff_ids nbase_hist
  nonempty=$(jq '[.history[] | select(.empty_layer != true)] | length' "$CONFIG")
  layers=$(jq '.layers | length' "$MANIFEST")
  diff_ids=$(jq '.rootfs.diff_ids | length' "$CONFIG")
  assert_equal "$nonempty" "$layers"
  assert_equal "$diff_ids" "$layers"
  # the base history is kept as it was, the new entries follow it
  nbase_hist=$(jq '.history | length' "$BASE_CONFIG")
  assert_equal "$(jq -c ".history[:$nbase_hist]" "$CONFIG")" "$(jq -c .history "$BASE_CONFIG")"
  local paths
  paths=$(jq -r '.layers[1:][].annotations["olot.layer.content.inlayerpath"]' "$MANIFEST")
  run jq -r ".history[$nbase_hist:][] | .created_by" "$CONFIG"
  assert_output "$(sed 's,^,olot-filter: add ,' <<<"$paths")"
  run jq -r ".history[$nbase_hist:][] | (.created | sub(\"\\\\.0+Z\$\"; \"Z\") | fromdateiso8601)" "$CONFIG"
  assert_output "$(yes "$MTIME" | head -n "$(wc -l <<<"$paths")")"
  assert_equal "$(jq -r '.created | sub("\\.0+Z$"; "Z") | fromdateiso8601' "$CONFIG")" "$MTIME"
  assert_equal "$(jq -r '[.history[$nbase_hist:][] | select(.empty_layer == true)] | length' --argjson nbase_hist "$nbase_hist" "$CONFIG")" 0
}

@test "e2e: the config keeps the base's settings" {
  main_output
  assert_equal "$(jq -c '{architecture,os,config}' "$CONFIG")" "$(jq -c '{architecture,os,config}' "$BASE_CONFIG")"
  # optional fields stay as the base had them (umoci writes no mediaType)
  assert_equal "$(jq -c .mediaType "$MANIFEST")" "$(jq -c .mediaType "$BASE_MANIFEST")"
  assert_equal "$(jq -r .config.mediaType "$MANIFEST")" application/vnd.oci.image.config.v1+json
  assert_equal "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$O/index.json")" latest
}

@test "e2e: skopeo and umoci read the output tar directly" {
  main_output
  run skopeo_ inspect --raw "oci-archive:$OUT:latest"
  assert_success
  assert_equal "$output" "$(cat "$MANIFEST")"
  run timeout 60 umoci unpack --rootless --image "$O:latest" "$BATS_TEST_TMPDIR/bundle"
  assert_success
  assert_models_match "$MODEL" "$BATS_TEST_TMPDIR/bundle/rootfs/models"
}
