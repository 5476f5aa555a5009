#!/usr/bin/env bats
# Multi-arch and other index shapes: an OCI image index with linux/amd64 and
# linux/arm64/v8, a nested index, two tags on one manifest, a base without
# history.  Pushed to and pulled from a real registry on 127.0.0.1.

load helpers

setup_file() {
  require_binary
  build_base "$BATS_FILE_TMPDIR/base"
  "$PYTHON" "$FIXTURES/mkvariants.py" "$BATS_FILE_TMPDIR/base/layout" "$BATS_FILE_TMPDIR/v"
  "$FIXTURES/mkmodel.sh" "$BATS_FILE_TMPDIR/model"
  registry_start
}

teardown_file() {
  registry_stop
}

setup() {
  V=$BATS_FILE_TMPDIR/v
  MODEL=$BATS_FILE_TMPDIR/model
  cd "$BATS_FILE_TMPDIR"
}

@test "multi-arch: both platforms get the same model layers, stored once" {
  filter_variant multiarch "$BATS_TEST_TMPDIR/out.tar"
  local d=$BATS_TEST_TMPDIR/out.tar.d idx
  assert_both_platforms_modelcar "$BATS_TEST_TMPDIR/out.tar"
  # index.json -> one (new) image index, tagged latest, platforms in place
  assert_equal "$(jq '.manifests | length' "$d/index.json")" 1
  assert_equal "$(jq -r '.manifests[0].mediaType' "$d/index.json")" application/vnd.oci.image.index.v1+json
  assert_equal "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$d/index.json")" latest
  idx=$(blob "$d" "$(jq -r '.manifests[0].digest' "$d/index.json")")
  assert_equal "$(jq -c '[.manifests[].platform]' "$idx")" \
    "$(jq -c '[.manifests[].platform]' "$(blob "$V/multiarch" "$(jq -r '.manifests[0].digest' "$V/multiarch/index.json")")")"
  # every old document was replaced: of the input's blobs only the layer is left
  local base=$BATS_FILE_TMPDIR/base/layout layer
  layer=$(jq -r '.layers[0].digest | ltrimstr("sha256:")' "$(blob "$base" "$(jq -r '.manifests[0].digest' "$base/index.json")")")
  run comm -12 <(ls "$V/multiarch/blobs/sha256") <(ls "$d/blobs/sha256")
  assert_output "$layer"
}

@test "multi-arch: push --all through a FIFO, pull amd64 and arm64/v8, umoci unpack both" {
  to_registry_via_fifo test/multi:1 --all --preserve-digests -- \
    bash -c 'tar -C "$1" -cf - . | timeout -k 5 120 "$0" "${@:2}"' "$OLOT_FILTER" "$V/multiarch" \
    --mtime "$MTIME" --model model --modelcard model/README.md
  [[ $producer_status == 0 ]] || fail "olot-filter exited $producer_status: $stderr"
  [[ $skopeo_status == 0 ]] || fail "skopeo copy exited $skopeo_status: $skopeo_log"
  local stream=$BATS_TEST_TMPDIR/stream.tar
  check_output "$stream"
  extract "$stream" "$BATS_TEST_TMPDIR/o"
  # the registry serves the index olot-filter wrote
  run skopeo_ inspect --tls-verify=false --raw "docker://$REGISTRY/test/multi:1"
  assert_success
  assert_equal "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" \
    "$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/o/index.json")"

  pull_and_unpack test/multi:1 "$BATS_TEST_TMPDIR/amd64" --override-arch amd64 --override-os linux
  pull_and_unpack test/multi:1 "$BATS_TEST_TMPDIR/arm64" --override-arch arm64 --override-variant v8 --override-os linux
  local a cfg
  for a in amd64 arm64; do
    assert_models_match "$MODEL" "$BATS_TEST_TMPDIR/$a/bundle/rootfs/models"
    cfg=$(pulled_config "$BATS_TEST_TMPDIR/$a/pulled")
    assert_equal "$(jq -r .architecture "$cfg")" "$a"
  done
  # each pull got its own platform's image
  run skopeo_ inspect --tls-verify=false --override-arch arm64 --override-variant v8 "docker://$REGISTRY/test/multi:1"
  assert_success
  assert_equal "$(jq -r .Architecture <<<"$output")" arm64
  local arm_layers=$output
  run skopeo_ inspect --tls-verify=false --override-arch amd64 "docker://$REGISTRY/test/multi:1"
  assert_success
  assert_equal "$(jq -r .Architecture <<<"$output")" amd64
  assert_equal "$(jq -c '.Layers[1:]' <<<"$output")" "$(jq -c '.Layers[1:]' <<<"$arm_layers")"
}

@test "nested index: index.json -> index -> index -> manifests, both platforms modified" {
  filter_variant nested "$BATS_TEST_TMPDIR/out.tar"
  local d=$BATS_TEST_TMPDIR/out.tar.d outer inner
  assert_both_platforms_modelcar "$BATS_TEST_TMPDIR/out.tar"
  outer=$(blob "$d" "$(jq -r '.manifests[0].digest' "$d/index.json")")
  assert_equal "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$d/index.json")" latest
  assert_equal "$(jq -r '.manifests | length' "$outer")" 1
  assert_equal "$(jq -r '.manifests[0].mediaType' "$outer")" application/vnd.oci.image.index.v1+json
  inner=$(blob "$d" "$(jq -r '.manifests[0].digest' "$outer")")
  assert_equal "$(jq -r '.manifests | length' "$inner")" 2
  # skopeo resolves the tag to the new outer index
  run skopeo_ inspect --raw "oci-archive:$BATS_TEST_TMPDIR/out.tar:latest"
  assert_success
  assert_equal "$output" "$(cat "$outer")"
}

@test "two tags on one manifest: both entries point to the one new manifest" {
  filter_variant twotags "$BATS_TEST_TMPDIR/out.tar"
  local d=$BATS_TEST_TMPDIR/out.tar.d m
  assert_equal "$(jq -r '[.manifests[].annotations["org.opencontainers.image.ref.name"]] | join(",")' "$d/index.json")" latest,v1
  assert_equal "$(jq -r '[.manifests[].digest] | unique | length' "$d/index.json")" 1
  m=$(jq -r '.manifests[0].digest' "$d/index.json")
  assert_equal "$(jq '.layers | length' "$(blob "$d" "$m")")" $((1 + $(model_files "$MODEL" | wc -l)))
  # rewritten once: one manifest, one config in the tar
  assert_equal "$(tar -tf "$BATS_TEST_TMPDIR/out.tar" | grep -c "${m#sha256:}")" 1
  local t
  for t in latest v1; do
    run skopeo_ inspect --raw "oci-archive:$BATS_TEST_TMPDIR/out.tar:$t"
    assert_success
    assert_equal "sha256:$(printf '%s' "$output" | sha256sum | cut -d' ' -f1)" "$m"
  done
  run timeout 60 umoci unpack --rootless --image "$d:v1" "$BATS_TEST_TMPDIR/bundle"
  assert_success
  assert_models_match "$MODEL" "$BATS_TEST_TMPDIR/bundle/rootfs/models"
}

@test "base without history: placeholder entries so history matches the layers, and a warning" {
  filter_variant nohistory "$BATS_TEST_TMPDIR/out.tar"
  local d=$BATS_TEST_TMPDIR/out.tar.d m cfg nlayers
  run printf '%s\n' "${stderr_lines[@]}"
  assert_line --regexp '^olot-filter: warning: '
  m=$(blob "$d" "$(jq -r '.manifests[0].digest' "$d/index.json")")
  cfg=$(blob "$d" "$(jq -r .config.digest "$m")")
  nlayers=$(jq '.layers | length' "$m")
  assert_equal "$nlayers" $((1 + $(model_files "$MODEL" | wc -l)))
  assert_equal "$(jq '[.history[] | select(.empty_layer != true)] | length' "$cfg")" "$nlayers"
  assert_equal "$(jq '.rootfs.diff_ids | length' "$cfg")" "$nlayers"
  # one placeholder for the one base layer, first, not empty_layer
  assert_equal "$(jq -r '.history[0].created_by' "$cfg")" "olot-filter: history missing in base"
  assert_equal "$(jq -r '.history[0].empty_layer // false' "$cfg")" false
  assert_equal "$(jq -r '.history[1].created_by' "$cfg")" "olot-filter: add /models/config.json"
  assert_equal "$(jq -r '.history[0].created | sub("\\.0+Z$"; "Z") | fromdateiso8601' "$cfg")" "$MTIME"
}
