#!/usr/bin/env bats
# Docker distribution media types inside an OCI layout (SPEC §5), as
# `oras copy --to-oci-layout` leaves them, and re-running olot-filter on its
# own output (§5.2, §6.4: idempotent).

load helpers

setup_file() {
  require_binary
  build_base "$BATS_FILE_TMPDIR/base"
  "$PYTHON" "$FIXTURES/mkvariants.py" "$BATS_FILE_TMPDIR/base/layout" "$BATS_FILE_TMPDIR/v"
  "$FIXTURES/mkmodel.sh" "$BATS_FILE_TMPDIR/model"
}

setup() {
  V=$BATS_FILE_TMPDIR/v
  MODEL=$BATS_FILE_TMPDIR/model
  cd "$BATS_FILE_TMPDIR"
}

# the input's docker list -> [manifest digests], configs
input_doc() { cat "$V/$1/blobs/sha256/${2#sha256:}"; }

@test "docker: a Docker manifest list becomes an OCI index skopeo can read, both platforms modified" {
  filter_variant docker "$BATS_TEST_TMPDIR/out.tar"
  local d=$BATS_TEST_TMPDIR/out.tar.d idx
  # check_output (G3) already refused any Docker media type reachable from index.json
  assert_both_platforms_modelcar "$BATS_TEST_TMPDIR/out.tar"
  assert_equal "$(jq -r '.manifests[0].mediaType' "$d/index.json")" application/vnd.oci.image.index.v1+json
  assert_equal "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$d/index.json")" latest
  idx=$(blob "$d" "$(jq -r '.manifests[0].digest' "$d/index.json")")
  assert_equal "$(jq -r .mediaType "$idx")" application/vnd.oci.image.index.v1+json
  # platforms kept, in order
  local in_list
  in_list=$(input_doc docker "$(jq -r '.manifests[0].digest' "$V/docker/index.json")")
  assert_equal "$(jq -c '[.manifests[].platform]' "$idx")" "$(jq -c '[.manifests[].platform]' <<<"$in_list")"
  # skopeo now finds the tag (it cannot on the input) and each platform
  run skopeo_ inspect --raw "oci-archive:$BATS_TEST_TMPDIR/out.tar:latest"
  assert_success
  assert_equal "$(jq -r .mediaType <<<"$output")" application/vnd.oci.image.index.v1+json
  run skopeo_ inspect --override-arch arm64 --override-variant v8 "oci-archive:$BATS_TEST_TMPDIR/out.tar:latest"
  assert_success
  assert_equal "$(jq -r .Architecture <<<"$output")" arm64
}

@test "docker: layer bytes untouched, media types mapped, config fields kept" {
  filter_variant docker "$BATS_TEST_TMPDIR/out.tar"
  local d=$BATS_TEST_TMPDIR/out.tar.d im m cfg in_m in_cfg in_list i=0
  in_list=$(input_doc docker "$(jq -r '.manifests[0].digest' "$V/docker/index.json")")
  while IFS= read -r im; do
    m=$(blob "$d" "$(jq -r .digest <<<"$im")")
    in_m=$(input_doc docker "$(jq -r ".manifests[$i].digest" <<<"$in_list")")
    assert_equal "$(jq -r .mediaType "$m")" application/vnd.oci.image.manifest.v1+json
    assert_equal "$(jq -r .config.mediaType "$m")" application/vnd.oci.image.config.v1+json
    # the base layer: same digest and size, OCI gzip type
    assert_equal "$(jq -c '.layers[0] | {digest,size}' "$m")" "$(jq -c '.layers[0] | {digest,size}' <<<"$in_m")"
    assert_equal "$(jq -r '.layers[0].mediaType' "$m")" application/vnd.oci.image.layer.v1.tar+gzip
    # the config: only rootfs, history and created change
    cfg=$(blob "$d" "$(jq -r .config.digest "$m")")
    in_cfg=$(input_doc docker "$(jq -r .config.digest <<<"$in_m")")
    assert_equal "$(jq -cS 'del(.rootfs, .history, .created)' "$cfg")" "$(jq -cS 'del(.rootfs, .history, .created)' <<<"$in_cfg")"
    i=$((i + 1))
  done < <(images "$BATS_TEST_TMPDIR/out.tar")
  assert_equal "$i" 2
}

@test "docker: a single Docker v2 manifest is converted and unpacks with umoci" {
  filter_variant docker-single "$BATS_TEST_TMPDIR/out.tar"
  local d=$BATS_TEST_TMPDIR/out.tar.d
  assert_equal "$(jq -r '.manifests[0].mediaType' "$d/index.json")" application/vnd.oci.image.manifest.v1+json
  run timeout 60 umoci unpack --rootless --image "$d:latest" "$BATS_TEST_TMPDIR/bundle"
  assert_success
  assert_models_match "$MODEL" "$BATS_TEST_TMPDIR/bundle/rootfs/models"
}

@test "docker: with no model it is a pure converter: configs byte-identical, no Docker document left" {
  tar -C "$V/docker" -cf "$BATS_TEST_TMPDIR/in.tar" .
  run_filter "$BATS_TEST_TMPDIR/in.tar" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME"
  assert_ok
  check_output "$BATS_TEST_TMPDIR/out.tar"
  local d=$BATS_TEST_TMPDIR/o im n=0
  extract "$BATS_TEST_TMPDIR/out.tar" "$d"
  while IFS= read -r im; do
    # the config blob is the input's, unchanged (only its descriptor type changed)
    [[ -f $V/docker/blobs/sha256/$(jq -r '.config | ltrimstr("sha256:")' <<<"$im") ]] ||
      fail "config $(jq -r .config <<<"$im") was rewritten"
    n=$((n + 1))
  done < <(images "$BATS_TEST_TMPDIR/out.tar")
  assert_equal "$n" 2
}

@test "docker: --no-convert refuses Docker media types (65)" {
  tar -C "$V/docker" -cf "$BATS_TEST_TMPDIR/in.tar" .
  run_filter "$BATS_TEST_TMPDIR/in.tar" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" --no-convert --model model
  assert_refused 65 "$BATS_TEST_TMPDIR/out.tar"
  # the message names one of the Docker-typed documents
  local f named=
  for f in "$V"/docker/blobs/sha256/*; do
    [[ ${stderr_lines[0]} == *"${f##*/}"* ]] && named=${f##*/}
  done
  [[ -n $named ]] || fail "the message names no document of the input: $stderr"
  [[ $(jq -r '.mediaType // ""' "$V/docker/blobs/sha256/$named" 2>/dev/null) == application/vnd.docker.* ]] ||
    fail "the named document $named is not Docker-typed: $stderr"
}

@test "rerun: olot-filter on its own output with the same model changes nothing (OCI base)" {
  filter_variant multiarch "$BATS_TEST_TMPDIR/o1.tar"
  run_filter "$BATS_TEST_TMPDIR/o1.tar" "$BATS_TEST_TMPDIR/o2.tar" --mtime "$MTIME" --model model --modelcard model/README.md
  assert_ok
  check_output "$BATS_TEST_TMPDIR/o2.tar"
  assert_equal "$(tar -xOf "$BATS_TEST_TMPDIR/o2.tar" index.json)" "$(tar -xOf "$BATS_TEST_TMPDIR/o1.tar" index.json)"
  assert_equal "$(tar -tf "$BATS_TEST_TMPDIR/o2.tar" | sort)" "$(tar -tf "$BATS_TEST_TMPDIR/o1.tar" | sort)"
}

@test "rerun: a second batch on converted Docker output appends after the first (no stale documents)" {
  mkdir -p "$BATS_TEST_TMPDIR/b1" "$BATS_TEST_TMPDIR/b2"
  head -c 1024 /dev/zero | tr '\0' a >"$BATS_TEST_TMPDIR/b1/a.bin"
  head -c 1024 /dev/zero | tr '\0' b >"$BATS_TEST_TMPDIR/b2/b.bin"
  tar -C "$V/docker" -cf "$BATS_TEST_TMPDIR/in.tar" .
  run_filter "$BATS_TEST_TMPDIR/in.tar" "$BATS_TEST_TMPDIR/o1.tar" --mtime "$MTIME" --model "$BATS_TEST_TMPDIR/b1/a.bin"
  assert_ok
  run_filter "$BATS_TEST_TMPDIR/o1.tar" "$BATS_TEST_TMPDIR/o2.tar" --mtime "$MTIME" --model "$BATS_TEST_TMPDIR/b2/b.bin"
  assert_ok
  check_output "$BATS_TEST_TMPDIR/o2.tar"
  extract "$BATS_TEST_TMPDIR/o2.tar" "$BATS_TEST_TMPDIR/o2"
  local im n=0
  while IFS= read -r im; do
    run jq -r '.layers[] | .annotations["org.opencontainers.image.title"] // "base"' \
      "$(blob "$BATS_TEST_TMPDIR/o2" "$(jq -r .digest <<<"$im")")"
    assert_output $'base\na.bin\nb.bin'
    n=$((n + 1))
  done < <(images "$BATS_TEST_TMPDIR/o2.tar")
  assert_equal "$n" 2
}
