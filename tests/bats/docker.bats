#!/usr/bin/env bats
# Docker distribution -> OCI (SPEC §5), end to end, on inputs made the way
# real tools make them: the umoci busybox base is pushed to a registry on
# 127.0.0.1 with `skopeo copy --format v2s2` (single manifest, and a
# manifest list for linux/amd64 + linux/arm64/v8), the raw Docker manifests
# are fetched back with `skopeo copy [--all] … dir:` and OCI layouts are
# assembled around them as `oras copy --to-oci-layout` and `docker save`
# write them (tests/fixtures/docker/mkdocker.sh).  Every success is checked
# the way a consumer sees it: no Docker media type left anywhere, skopeo
# finds the image by its tag, `skopeo copy --preserve-digests` pushes it,
# umoci unpacks every platform pulled back from the registry, the layer
# digests are unchanged and, for a pure conversion, the config digest too;
# with --model, /models matches the model directory byte for byte on every
# platform.  B<nn> names a case from the project's list of public bug
# reports (an input recipe and the right behaviour for each).

load helpers

OCI_INDEX=application/vnd.oci.image.index.v1+json
OCI_MANIFEST=application/vnd.oci.image.manifest.v1+json
OCI_CONFIG=application/vnd.oci.image.config.v1+json
OCI_LAYER=application/vnd.oci.image.layer.v1.tar
OCI_LAYER_GZIP=application/vnd.oci.image.layer.v1.tar+gzip
OCI_NONDIST=application/vnd.oci.image.layer.nondistributable.v1.tar
REF_NAME=org.opencontainers.image.ref.name

setup_file() {
  require_binary
  build_base "$BATS_FILE_TMPDIR/base"
  "$PYTHON" "$FIXTURES/mkvariants.py" "$BATS_FILE_TMPDIR/base/layout" "$BATS_FILE_TMPDIR/v"
  "$FIXTURES/mkmodel.sh" "$BATS_FILE_TMPDIR/model"
  # distribution refuses manifests with foreign-layer URLs unless they are
  # allowed (validation.manifests.urls.allow, here set through the
  # environment): allow the fixtures' foreign layers (B06)
  export REGISTRY_VALIDATION_MANIFESTS_URLS_ALLOW="['^https://artifacts\\.example/']"
  registry_start
  if ! "$FIXTURES/docker/mkdocker.sh" "$BATS_FILE_TMPDIR/base/layout" "$BATS_FILE_TMPDIR/v/multiarch" \
    "$BATS_FILE_TMPDIR/fx" >"$BATS_FILE_TMPDIR/mkdocker.log" 2>&1; then
    echo "mkdocker.sh failed:" >&2
    cat "$BATS_FILE_TMPDIR/mkdocker.log" >&2
    registry_stop
    return 1
  fi
}

teardown_file() {
  registry_stop
}

setup() {
  FX=$BATS_FILE_TMPDIR/fx
  MODEL=$BATS_FILE_TMPDIR/model
  DCHECK=$FIXTURES/docker/dockercheck.py
  T=$BATS_TEST_TMPDIR
  WITH_MODEL=(--model "$MODEL" --modelcard "$MODEL/README.md")
  GRAPH_OK=''
  cd "$T" || return
}

# ------------------------------------------------------------------ helpers

# filter NAME [ARGS...] — olot-filter --mtime ARGS < fx/NAME.tar, expected
# to succeed (assert_ok).  Sets NAME, IN (the input layout directory), OUT
# (the output tar) and O (OUT extracted).
filter() {
  NAME=$1
  shift
  IN=$FX/layouts/$NAME
  OUT=$T/$NAME.out.tar
  O=$T/$NAME.o
  run_filter "$FX/$NAME.tar" "$OUT" --mtime "$MTIME" "$@"
  assert_ok
  rm -rf "$O"
  extract "$OUT" "$O"
}

# check_tar TAR [ocicheck graph options] — G1-G4, G6, G7 as check_output
# does, except the §8 order (it has its own test below, so that one bug does
# not hide the rest); docker save's manifest.json and repositories may sit
# at the root (§5.3); lines matching the ERE $GRAPH_OK are accepted.
check_tar() {
  local tar=$1 bad
  shift
  run "$PYTHON" "$OCICHECK" hygiene "$tar"
  bad=$(grep -v -x -e "unexpected file entry 'manifest.json'" -e "unexpected file entry 'repositories'" \
    <<<"$output" || true)
  [[ -z $bad ]] || fail "output hygiene (G6, §8) of $tar:"$'\n'"$bad"
  run "$PYTHON" "$OCICHECK" graph "$tar" --any-order "$@"
  bad=$output
  if [[ -n $GRAPH_OK ]]; then bad=$(grep -v -E "$GRAPH_OK" <<<"$output" || true); fi
  [[ -z $bad ]] || fail "output graph (G1-G4, G7) of $tar:"$'\n'"$bad"
}

# assert_no_docker_types DIR [DIGEST...] — no "application/vnd.docker." in
# index.json, manifest.json or any JSON blob of DIR (the DIGESTs excepted).
assert_no_docker_types() {
  local dir=$1 bad d
  shift
  run "$PYTHON" "$DCHECK" docker "$dir"
  bad=$output
  for d in "$@"; do bad=$(grep -v "^blobs/sha256/${d#sha256:}:" <<<"$bad" || true); done
  [[ -z $bad ]] || fail "Docker media types left in the output:"$'\n'"$bad"
}

# assert_nothing_dangling DIR — every vnd.docker.reference.digest and
# subject.digest reachable from index.json names a blob that is there.
assert_nothing_dangling() {
  run "$PYTHON" "$DCHECK" dangling "$1"
  [[ $status == 0 ]] || fail "dangling references:"$'\n'"$output"
}

# assert_unreachable_within DIR DIGEST... — every blob of DIR not reachable
# from index.json is one of the DIGESTs.
assert_unreachable_within() {
  local dir=$1 f d bad=''
  shift
  local reached
  reached=$("$PYTHON" "$DCHECK" reached "$dir")
  for f in "$dir"/blobs/sha256/*; do
    d=sha256:$(basename "$f")
    grep -qxF "$d" <<<"$reached" && continue
    [[ " $* " == *" $d "* ]] || bad+="$d "
  done
  [[ -z $bad ]] || fail "blobs neither reachable nor allowed to stay: $bad"
}

docker_images() { "$PYTHON" "$DCHECK" images "$1"; }

# root_digest DIR TAG — the digest of the index.json entry tagged TAG.
root_digest() {
  jq -r --arg t "$2" --arg k "$REF_NAME" '[.manifests[] | select(.annotations[$k] == $t)] |
    if length == 1 then .[0].digest else error("\(length) entries tagged \($t)") end' "$1/index.json"
}

# warning_lines — the warnings of the last run_filter.
warning_lines() {
  local l
  for l in "${stderr_lines[@]}"; do
    [[ $l != "olot-filter: warning:"* ]] || printf '%s\n' "$l"
  done
}

# assert_one_warning_each DIGEST... — exactly one warning line names each
# DIGEST, and there are no other warnings.
assert_one_warning_each() {
  local w d c
  w=$(warning_lines)
  for d in "$@"; do
    c=$(grep -cF "$d" <<<"$w" || true)
    [[ $c == 1 ]] || fail "$c warning lines name $d (want 1):"$'\n'"$stderr"
  done
  c=$(grep -c . <<<"$w" || true)
  [[ $c == "$#" ]] || fail "$c warnings, want $# (one per dropped document):"$'\n'"$stderr"
}

# platform_opts PLATFORM — skopeo's --override-* options for os/arch[/variant].
platform_opts() {
  local os arch variant
  IFS=/ read -r os arch variant <<<"$1"
  printf '%s\n' --override-os "$os" --override-arch "$arch"
  [[ -z $variant ]] || printf '%s\n' --override-variant "$variant"
}

# assert_consumers MODE [FROM] — what consumers see of $OUT made from $IN.
# MODE pure: nothing added; model: $MODEL added (README.md as the modelcard).
#  - skopeo finds the root tagged latest in the oci-archive, and each platform
#    in it (its architecture and layers);
#  - skopeo copy --all --preserve-digests pushes it; the registry serves the
#    root digest olot-filter wrote (FROM=per-platform: each platform is pushed
#    on its own, for indexes skopeo cannot copy with --all);
#  - the platforms are the input's; each output image is an OCI manifest with
#    an OCI config that starts with the input's layers (digest and size
#    unchanged); pure: exactly those layers and the same config digest;
#    model: one more layer per model file (dockercheck.py compare);
#  - umoci unpacks every platform, pulled back from the registry (FROM=layout:
#    straight from the output layout, for foreign layers a registry does not
#    serve); the base's /bin/busybox is intact; model: /models matches $MODEL
#    byte for byte; pure: there is no /models.
assert_consumers() {
  local mode=$1 from=${2:-registry} root repo line p digest n expect dir nm
  local -a lines opts
  root=$(root_digest "$O" latest) || fail "index.json: $(cat "$O/index.json")"
  skopeo_ inspect --raw "oci-archive:$OUT:latest" >"$T/inspect.raw" 2>"$T/inspect.err" ||
    fail "skopeo inspect --raw oci-archive:$OUT:latest: $(cat "$T/inspect.err")"
  assert_equal "$(sha256_of "$T/inspect.raw")" "$root"

  repo=docker/$NAME-$BATS_TEST_NUMBER
  if [[ $from != per-platform ]]; then
    push "$repo:latest" "$root" --all
  fi

  nm=$(model_files "$MODEL" | wc -l)
  run "$PYTHON" "$DCHECK" compare "$IN" "$O" "$mode" "$nm" latest
  [[ $status == 0 ]] || fail "input and output images (layers, config, platforms):"$'\n'"$output"
  mapfile -t lines <<<"$output"
  for line in "${lines[@]}"; do
    IFS=$'\t' read -r p digest n expect <<<"$line"
    mapfile -t opts < <(platform_opts "$p")
    run skopeo_ inspect "${opts[@]}" "oci-archive:$OUT:latest"
    [[ $status == 0 ]] || fail "skopeo inspect ${opts[*]} oci-archive:$OUT:latest: $output"
    assert_equal "$(jq -c '[.Digest, .Architecture, .Layers]' <<<"$output")" "[\"$root\",$expect]"

    dir=$T/unpack-${p//\//-}
    rm -rf "$dir"
    case $from in
      registry | per-platform)
        if [[ $from == per-platform ]]; then
          push "$repo-${p//\//-}:latest" "$digest" "${opts[@]}"
          pull_and_unpack "$repo-${p//\//-}:latest" "$dir" --preserve-digests
        else
          pull_and_unpack "$repo:latest" "$dir" --preserve-digests "${opts[@]}"
        fi
        assert_equal "$(jq -r '.manifests[0].digest' "$dir/pulled/index.json")" "$digest"
        ;;
      layout)
        mkdir -p "$dir"
        timeout -k 5 "$CMD_TIMEOUT" umoci unpack --rootless --image "$O:latest" "$dir/bundle" >"$dir/unpack.log" 2>&1 ||
          fail "umoci unpack --image $O:latest: $(cat "$dir/unpack.log")"
        ;;
    esac
    if ((n > 0)); then
      cmp "$dir/bundle/rootfs/bin/busybox" /bin/busybox || fail "$p: /bin/busybox differs after unpack"
    fi
    if [[ $mode == pure ]]; then
      [[ ! -e $dir/bundle/rootfs/models ]] || fail "$p: a pure conversion has /models"
    else
      assert_models_match "$MODEL" "$dir/bundle/rootfs/models"
    fi
  done
}

# push REF DIGEST [skopeo copy options] — skopeo copy --preserve-digests
# oci-archive:$OUT:latest docker://$REGISTRY/REF; the registry then serves
# DIGEST for REF.
push() {
  local ref=$1 want=$2
  shift 2
  run skopeo_ copy --preserve-digests --dest-tls-verify=false --digestfile "$T/pushed.digest" "$@" \
    "oci-archive:$OUT:latest" "docker://$REGISTRY/$ref"
  [[ $status == 0 ]] || fail "skopeo copy --preserve-digests $* oci-archive:$OUT:latest docker://$REGISTRY/$ref: $output"
  assert_equal "$(cat "$T/pushed.digest")" "$want"
  skopeo_ inspect --tls-verify=false --raw "docker://$REGISTRY/$ref" >"$T/served.raw" 2>"$T/inspect.err" ||
    fail "skopeo inspect docker://$REGISTRY/$ref: $(cat "$T/inspect.err")"
  assert_equal "$(sha256_of "$T/served.raw")" "$want"
}

# success NAME MODE [FROM] [ARGS...] — filter, then every global check.
success() {
  local name=$1 mode=$2 from=$3
  shift 3
  if [[ $mode == model ]]; then filter "$name" "${WITH_MODEL[@]}" "$@"; else filter "$name" "$@"; fi
  check_tar "$OUT"
  assert_no_docker_types "$O"
  assert_consumers "$mode" "$from"
}

# layer_types DIR — the layers of the image tagged latest: [[type, urls]…].
layer_types() {
  jq -c '[.layers[] | [.mediaType, .urls]]' "$(blob "$1" "$(root_digest "$1" latest)")"
}

# ------------------------------------------------------------------ fixtures

@test "fixtures: real skopeo output with Docker types; skopeo cannot use the oras layout by tag (B04)" {
  run jq -r .mediaType "$FX/raw/multi/manifest.json"
  assert_output application/vnd.docker.distribution.manifest.list.v2+json
  run jq -r '.layers[0].mediaType' "$FX/raw/plain/manifest.json"
  assert_output application/vnd.docker.image.rootfs.diff.tar
  local n
  for n in oras list single plain gzlabel layertypes oci-docker-kids attest save25 unknown; do
    run "$PYTHON" "$DCHECK" docker "$FX/layouts/$n"
    [[ $status == 1 ]] || fail "fixture $n holds no Docker media type"
  done
  # skopeo 1.9 skips index.json entries that are not OCI types
  run skopeo_ inspect --raw "oci-archive:$FX/oras.tar:latest"
  assert_failure
}

# ------------------------------------------------------------------ the main shapes

@test "oras shape (list + both manifests in index.json): pure conversion, both platforms pushed and unpacked" {
  success oras pure registry
  local idx
  # the tagged root is the converted index, the two untagged entries point
  # to the same converted manifests as the index (rewritten once), platforms kept
  idx=$(blob "$O" "$(root_digest "$O" latest)")
  assert_equal "$(jq -r '.manifests[0].mediaType' "$O/index.json")" "$OCI_INDEX"
  assert_equal "$(jq -r .mediaType "$idx")" "$OCI_INDEX"
  assert_equal "$(jq -c '[.manifests[1:][] | {mediaType, digest, size, platform}]' "$O/index.json")" \
    "$(jq -c '[.manifests[] | {mediaType, digest, size, platform}]' "$idx")"
  assert_equal "$(jq -c '[.manifests[].platform]' "$idx")" "$(jq -c '[.manifests[].platform]' "$FX/raw/multi/manifest.json")"
}

@test "oras shape --model: both platforms are ModelCars with the same model layers" {
  success oras model registry
  local ims
  ims=$(docker_images "$O")
  assert_equal "$(jq -c '.layers[1:]' <<<"$ims" | sort -u | wc -l)" 1
  # the model layers are stored once
  run bash -c "tar -tf '$OUT' | sort | uniq -d"
  assert_output ''
}

@test "oras shape tarred index.json first: the same index.json as the sorted tar" {
  filter oras
  cp "$O/index.json" "$T/first.json"
  filter oras-index-first
  check_tar "$OUT"
  assert_no_docker_types "$O"
  assert_equal "$(cat "$O/index.json")" "$(cat "$T/first.json")"
}

@test "a Docker manifest list as the single root entry: pure conversion" {
  success list pure registry
  assert_equal "$(jq -r '.manifests | length' "$O/index.json")" 1
  assert_equal "$(jq -r '.manifests[0].mediaType' "$O/index.json")" "$OCI_INDEX"
}

@test "a Docker manifest list as the single root entry --model" {
  success list model registry
}

@test "a single Docker v2 manifest: pure conversion" {
  success single pure registry
  assert_equal "$(jq -r '.manifests[0].mediaType' "$O/index.json")" "$OCI_MANIFEST"
  assert_equal "$(layer_types "$O")" "[[\"$OCI_LAYER_GZIP\",null]]"
}

@test "a single Docker v2 manifest --model" {
  success single model registry
}

@test "uncompressed …rootfs.diff.tar layer (skopeo --dest-decompress) becomes …layer.v1.tar" {
  success plain pure registry
  assert_equal "$(layer_types "$O")" "[[\"$OCI_LAYER\",null]]"
}

@test "B26: uncompressed layer labelled …tar.gzip: typed …layer.v1.tar, digest unchanged, one warning" {
  success gzlabel pure registry
  local layer
  layer=$(jq -r '.layers[0].digest' "$(blob "$IN" "$(root_digest "$IN" latest)")")
  assert_equal "$(layer_types "$O")" "[[\"$OCI_LAYER\",null]]"
  assert_equal "$(jq -r '.layers[0].digest' "$(blob "$O" "$(root_digest "$O" latest)")")" "$layer"
  run head -c2 "$(blob "$O" "$layer")"
  [[ $output != $'\x1f\x8b' ]] || fail "the fixture's layer is gzip after all"
  assert_one_warning_each "$layer"
}

@test "B26 --model: the relabelled layer image becomes a ModelCar that umoci unpacks" {
  success gzlabel model registry
  run jq -r '.layers[0].mediaType' "$(blob "$O" "$(root_digest "$O" latest)")"
  assert_output "$OCI_LAYER"
}

@test "B06: uncompressed, foreign gzip, foreign tar and gzip layers: OCI types, urls kept, digests unchanged" {
  success layertypes pure layout
  assert_equal "$(layer_types "$O")" \
    "[[\"$OCI_LAYER\",null],[\"$OCI_NONDIST+gzip\",[\"https://artifacts.example/foreign.tar.gz\"]],[\"$OCI_NONDIST\",[\"https://artifacts.example/foreign.tar\"]],[\"$OCI_LAYER_GZIP\",null]]"
  local f
  for f in etc/extra.txt etc/foreign-gzip.txt etc/foreign-tar.txt; do
    [[ -f $T/unpack-linux-amd64/bundle/rootfs/$f ]] || fail "/$f missing after umoci unpack"
  done
}

@test "B06: foreign layers whose blobs are absent (urls) are accepted; same manifest as with the blobs" {
  filter layertypes
  cp "$O/index.json" "$T/with-blobs.json"
  filter foreign-absent
  check_tar "$OUT"
  assert_no_docker_types "$O"
  assert_equal "$(cat "$O/index.json")" "$(cat "$T/with-blobs.json")"
  local m
  m=$(blob "$IN" "$(root_digest "$IN" latest)")
  for d in $(jq -r '.layers[1:3][].digest' "$m"); do
    [[ ! -e $(blob "$O" "$d") ]] || fail "foreign blob $d appeared in the output"
  done
  # skopeo reads it and pushes it (it does not upload layers with urls)
  run skopeo_ inspect "oci-archive:$OUT:latest"
  assert_success
  run skopeo_ copy --preserve-digests --dest-tls-verify=false "oci-archive:$OUT:latest" \
    "docker://$REGISTRY/docker/foreign-absent:latest"
  assert_success
}

@test "B06 d: Docker schema1 manifests are refused with exit 65 and what to use instead" {
  local n d
  for n in schema1 schema1-plain; do
    d=$(jq -r '.manifests[0].digest' "$FX/layouts/$n/index.json")
    run_filter "$FX/$n.tar" "$T/$n.out.tar" --mtime "$MTIME"
    assert_refused 65 "$T/$n.out.tar" "$d"
    [[ ${stderr_lines[0]} =~ \(.+\)$ ]] || fail "$n: no '(what to do)' in: $stderr"
  done
}

@test "Docker plugin images are refused with exit 65" {
  local d
  d=$(jq -r '.manifests[0].digest' "$FX/layouts/plugin/index.json")
  run_filter "$FX/plugin.tar" "$T/out.tar" --mtime "$MTIME"
  assert_refused 65 "$T/out.tar"
  [[ $stderr == *"$d"* || $stderr == *"$(jq -r .config.digest "$(blob "$FX/layouts/plugin" "$d")")"* ]] ||
    fail "the refusal names neither the manifest nor the plugin config: $stderr"
}

@test "--no-convert: a Docker media type anywhere is exit 65, nothing committed" {
  local n
  for n in oras list single plain oci-docker-kids mistyped mistyped-root save25; do
    run_filter "$FX/$n.tar" "$T/$n.out.tar" --mtime "$MTIME" --no-convert
    assert_refused 65 "$T/$n.out.tar"
    [[ ${stderr_lines[0]} =~ sha256:[0-9a-f]{64}|index\.json ]] || fail "$n: the refusal names no document: $stderr"
  done
}

@test "--no-convert on a converted output: exit 0, nothing to convert, byte-identical" {
  filter oras "${WITH_MODEL[@]}"
  run_filter "$OUT" "$T/again.tar" --mtime "$MTIME" --no-convert "${WITH_MODEL[@]}"
  assert_ok
  cmp "$OUT" "$T/again.tar" || fail "--no-convert on the converted output changed it"
}

# ------------------------------------------------------------------ B07

@test "B07 a: an OCI index whose entries are Docker v2 manifests: children converted, entries updated" {
  success oci-docker-kids pure registry
  local idx old
  idx=$(blob "$O" "$(root_digest "$O" latest)")
  old=$(blob "$IN" "$(root_digest "$IN" latest)")
  assert_equal "$(jq -r '[.manifests[].mediaType] | unique[]' "$idx")" "$OCI_MANIFEST"
  assert_equal "$(jq -c '[.manifests[].platform]' "$idx")" "$(jq -c '[.manifests[].platform]' "$old")"
  run jq -n --slurpfile a "$idx" --slurpfile b "$old" \
    '[$a[0].manifests[].digest] - [$b[0].manifests[].digest] | length'
  assert_output 2
}

@test "B07 b: a Docker-typed entry pointing at an OCI manifest: type corrected, manifest not re-encoded" {
  success mistyped pure registry
  local idx old
  idx=$(blob "$O" "$(root_digest "$O" latest)")
  old=$(blob "$IN" "$(root_digest "$IN" latest)")
  assert_equal "$(jq -c '[.manifests[] | .mediaType]' "$idx")" "[\"$OCI_MANIFEST\",\"$OCI_MANIFEST\"]"
  assert_equal "$(jq -c '[.manifests[] | [.digest, .size, .platform]]' "$idx")" \
    "$(jq -c '[.manifests[] | [.digest, .size, .platform]]' "$old")"
}

@test "B07: index.json entry typed Docker v2 pointing at an OCI manifest: type corrected, digest kept" {
  success mistyped-root pure registry
  assert_equal "$(jq -c '.manifests[0] | [.mediaType, .digest, .size]' "$O/index.json")" \
    "$(jq -c --arg t "$OCI_MANIFEST" '.manifests[0] | [$t, .digest, .size]' "$IN/index.json")"
}

# ------------------------------------------------------------------ B08

# allowed_leftovers LAYOUT DIGEST... — the configs and layers of the given
# manifests in LAYOUT (they may stay in the output: §8 loses no blob but
# the dropped documents themselves).
allowed_leftovers() {
  local dir=$1 d
  shift
  for d in "$@"; do jq -r '.config.digest, .layers[].digest' "$(blob "$dir" "$d")"; done | sort -u
}

@test "B08: attestations and a referrer of replaced manifests are dropped, one warning each, nothing dangling" {
  filter attest
  local -a dropped
  mapfile -t dropped < <(jq -r '.dropped[]' "$FX/expect/attest.json")
  check_tar "$OUT" --allow-unreachable
  # shellcheck disable=SC2046 # one argument per digest
  assert_unreachable_within "$O" $(allowed_leftovers "$IN" "${dropped[@]}")
  assert_no_docker_types "$O"
  assert_one_warning_each "${dropped[@]}"
  local d
  for d in "${dropped[@]}"; do
    [[ ! -e $(blob "$O" "$d") ]] || fail "the dropped $d is still in the output"
  done
  assert_nothing_dangling "$O"
  run "$PYTHON" "$DCHECK" all "$O"
  assert_equal "$(jq -r .kind <<<"$output" | sort -u)" image
  run jq -r --arg k "$REF_NAME" '[.manifests[].annotations[$k]] | join(" ")' "$O/index.json"
  assert_output latest
  assert_consumers pure
}

@test "B08 --model: the attestations of the modified manifests are dropped too" {
  filter attest "${WITH_MODEL[@]}"
  local -a dropped
  mapfile -t dropped < <(jq -r '.dropped[]' "$FX/expect/attest.json")
  check_tar "$OUT" --allow-unreachable
  # shellcheck disable=SC2046 # one argument per digest
  assert_unreachable_within "$O" $(allowed_leftovers "$IN" "${dropped[@]}")
  assert_no_docker_types "$O"
  assert_one_warning_each "${dropped[@]}"
  assert_nothing_dangling "$O"
  assert_consumers model
}

@test "B08 --ref latest: attestations of the untouched image pass through byte-identical" {
  local -a dropped kept
  mapfile -t dropped < <(jq -r '.dropped[]' "$FX/expect/attest-ref.json")
  mapfile -t kept < <(jq -r '.kept[]' "$FX/expect/attest-ref.json")
  # buildkit's attestation configs have no history: G4 is for modified images only
  GRAPH_OK="^($(IFS='|'; echo "${kept[*]}")): 1 layers, 1 diff_ids, 0 non-empty history entries$"
  filter attest-ref --ref latest "${WITH_MODEL[@]}"
  check_tar "$OUT" --allow-unreachable
  # shellcheck disable=SC2046 # one argument per digest
  assert_unreachable_within "$O" $(allowed_leftovers "$IN" "${dropped[@]}")
  assert_no_docker_types "$O"
  assert_one_warning_each "${dropped[@]}"
  assert_nothing_dangling "$O"
  # the other root entry, its index, manifests, attestations and their blobs: untouched
  local other d
  other=$(jq -r .other "$FX/expect/attest-ref.json")
  assert_equal "$(jq -c --arg k "$REF_NAME" '.manifests[] | select(.annotations[$k] == "other")' "$O/index.json")" \
    "$(jq -c --arg k "$REF_NAME" '.manifests[] | select(.annotations[$k] == "other")' "$IN/index.json")"
  cmp "$(blob "$O" "$other")" "$(blob "$IN" "$other")"
  for d in $(jq -r '.manifests[].digest' "$(blob "$IN" "$other")"); do
    cmp "$(blob "$O" "$d")" "$(blob "$IN" "$d")" || fail "manifest $d of the untouched image changed"
    for c in $(jq -r '.config.digest, .layers[].digest' "$(blob "$IN" "$d")"); do
      cmp "$(blob "$O" "$c")" "$(blob "$IN" "$c")" || fail "blob $c of the untouched image changed"
    done
  done
  run skopeo_ inspect --raw "oci-archive:$OUT:other"
  assert_success
  assert_consumers model
}

# ------------------------------------------------------------------ docker save

# assert_docker_save MODE — manifest.json names the config and the layers of
# the image tagged latest, every path is in the output tar, RepoTags kept;
# repositories parses and keeps its repositories and tags; skopeo's
# docker-archive: reader (what docker load reads) loads it and umoci unpacks it.
assert_docker_save() {
  local mode=$1 m cfg names p
  m=$(blob "$O" "$(root_digest "$O" latest)")
  cfg=$(jq -r .config.digest "$m")
  run jq -e 'type == "array" and length == 1' "$O/manifest.json"
  assert_success
  assert_equal "$(jq -r '.[0].Config' "$O/manifest.json")" "blobs/sha256/${cfg#sha256:}"
  assert_equal "$(jq -c '.[0].Layers' "$O/manifest.json")" \
    "$(jq -c '[.layers[].digest | "blobs/sha256/" + ltrimstr("sha256:")]' "$m")"
  assert_equal "$(jq -c '.[0].RepoTags' "$O/manifest.json")" "$(jq -c '.[0].RepoTags' "$IN/manifest.json")"
  names=$(tar -tf "$OUT")
  for p in $(jq -r '.[0].Config, .[0].Layers[]' "$O/manifest.json"); do
    grep -qxF "$p" <<<"$names" || fail "manifest.json names $p, which is not in the output"
  done
  # the Config blob is the new config: the image's diff_ids, and for a
  # ModelCar not the old config
  assert_equal "$(jq '.rootfs.diff_ids | length' "$O/$(jq -r '.[0].Config' "$O/manifest.json")")" \
    "$(jq '.[0].Layers | length' "$O/manifest.json")"
  if [[ $mode == model ]]; then
    [[ $(jq -r '.[0].Config' "$O/manifest.json") != $(jq -r '.[0].Config' "$IN/manifest.json") ]] ||
      fail "manifest.json still names the old config"
  else
    assert_equal "$(jq -c . "$O/manifest.json")" "$(jq -c . "$IN/manifest.json")"
  fi
  run jq -e 'type == "object"' "$O/repositories"
  assert_success
  assert_equal "$(jq -c 'to_entries | map([.key, (.value | keys)])' "$O/repositories")" \
    "$(jq -c 'to_entries | map([.key, (.value | keys)])' "$IN/repositories")"
  # docker load's view, through skopeo's docker-archive: reader
  run skopeo_ copy "docker-archive:$OUT" "oci:$T/loaded:1"
  [[ $status == 0 ]] || fail "skopeo copy docker-archive:$OUT: $output"
  run timeout -k 5 "$CMD_TIMEOUT" umoci unpack --rootless --image "$T/loaded:1" "$T/loaded.bundle"
  [[ $status == 0 ]] || fail "umoci unpack of the docker-archive: copy: $output"
  cmp "$T/loaded.bundle/rootfs/bin/busybox" /bin/busybox
  if [[ $mode == model ]]; then
    assert_models_match "$MODEL" "$T/loaded.bundle/rootfs/models"
  else
    [[ ! -e $T/loaded.bundle/rootfs/models ]] || fail "a pure conversion has /models"
  fi
}

@test "docker save of Engine 25 (containerd store, Docker types): pure conversion; manifest.json still right" {
  success save25 pure registry
  assert_docker_save pure
  assert_equal "$(jq -c '.manifests[0].annotations' "$O/index.json")" "$(jq -c '.manifests[0].annotations' "$IN/index.json")"
}

@test "docker save of Engine 25 (containerd store) --model: manifest.json names the new config and every layer" {
  success save25 model registry
  assert_docker_save model
}

@test "docker save of Engine 25 (graphdriver, OCI) --model: manifest.json names the new config and every layer" {
  success save25-gd model registry
  assert_docker_save model
}

@test "docker save of Engine 25 --model: repositories names the new top layer, as docker save writes it" {
  local n
  for n in save25 save25-gd; do
    filter "$n" "${WITH_MODEL[@]}"
    # docker save writes the hex of the image's last layer (moby image/tarexport)
    assert_equal "$(jq -r '.[0].Layers[-1] | ltrimstr("blobs/sha256/")' "$IN/manifest.json")" \
      "$(jq -r '.[] | .[]' "$IN/repositories")"
    assert_equal "$(jq -r '.[] | .[]' "$O/repositories")" \
      "$(jq -r '.[0].Layers[-1] | ltrimstr("blobs/sha256/")' "$O/manifest.json")"
  done
}

# ------------------------------------------------------------------ B31

@test "B31 a: legacy docker save (Engine 24 and older) is exit 65 with the skopeo copy docker-archive: hint" {
  run_filter "$FX/legacy.tar" "$T/out.tar" --mtime "$MTIME"
  assert_refused 65 "$T/out.tar" "skopeo copy docker-archive:"
}

@test "B31 a: skopeo's own docker-archive (symlinked layer.tar) is exit 65, nothing committed" {
  run_filter "$FX/skopeo-archive.tar" "$T/out.tar" --mtime "$MTIME"
  assert_refused 65 "$T/out.tar"
}

@test "B31 a: following the hint (skopeo copy docker-archive: oci-archive:) gives a working ModelCar" {
  run skopeo_ copy "docker-archive:$FX/legacy.tar" "oci-archive:$T/converted.tar:latest"
  assert_success
  NAME=legacy
  IN=$T/converted
  extract "$T/converted.tar" "$IN"
  OUT=$T/out.tar
  O=$T/o
  run_filter "$T/converted.tar" "$OUT" --mtime "$MTIME" "${WITH_MODEL[@]}"
  assert_ok
  extract "$OUT" "$O"
  check_tar "$OUT"
  assert_consumers model
}

@test "B31 b: the gzip-compressed oras layout gives the same output as the plain one" {
  filter oras
  cp "$OUT" "$T/plain.tar"
  run_filter "$FX/oras.tar.gz" "$T/gz.tar" --mtime "$MTIME"
  assert_ok
  cmp "$T/plain.tar" "$T/gz.tar"
}

# ------------------------------------------------------------------ B21, B24

@test "B21: a Docker manifest without layers, or with layers []: pure conversion" {
  local n
  for n in nolayers emptylayers; do
    success "$n" pure registry
    run jq '.layers // [] | length' "$(blob "$O" "$(root_digest "$O" latest)")"
    assert_output 0
  done
}

@test "B21: a Docker manifest without layers, or with layers [] --model: only the model layers, no placeholders" {
  local n m cfg nm
  nm=$(model_files "$MODEL" | wc -l)
  for n in nolayers emptylayers; do
    success "$n" model registry
    m=$(blob "$O" "$(root_digest "$O" latest)")
    cfg=$(blob "$O" "$(jq -r .config.digest "$m")")
    assert_equal "$(jq '.layers | length' "$m")" "$nm"
    assert_equal "$(jq '.rootfs.diff_ids | length' "$cfg")" "$nm"
    assert_equal "$(jq '[.history[] | select(.empty_layer != true)] | length' "$cfg")" "$nm"
    run jq -r '.history[].created_by' "$cfg"
    refute_output --partial "history missing"
    [[ $(warning_lines) != *history* ]] || fail "$n: warning about history: $stderr"
  done
}

@test "B24 a: a list entry whose manifest blob is absent: exit 65 naming the digest and linux/arm64" {
  run_filter "$FX/sparse.tar" "$T/out.tar" --mtime "$MTIME"
  assert_refused 65 "$T/out.tar" "$(jq -r .missing "$FX/expect/sparse.json")" linux/arm64
}

@test "B24 b: a manifest whose config blob is absent: exit 65 naming the config" {
  run_filter "$FX/sparse-config.tar" "$T/out.tar" --mtime "$MTIME"
  assert_refused 65 "$T/out.tar" "$(jq -r .missing "$FX/expect/sparse-config.json")"
}

@test "a Docker manifest list with \"manifests\": null: exit 65 naming it" {
  run_filter "$FX/nulllist.tar" "$T/out.tar" --mtime "$MTIME"
  assert_refused 65 "$T/out.tar" "$(jq -r '.manifests[0].digest' "$FX/layouts/nulllist/index.json")"
}

# ------------------------------------------------------------------ B29, B30, B03

@test "B29: an artifact's inline-data config without a blob is materialised; the artifact passes unchanged" {
  success inline model registry
  local empty=sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a art
  [[ ! -e $(blob "$IN" "$empty") ]] || fail "the fixture has the empty blob"
  run tar -xOf "$OUT" "blobs/sha256/${empty#sha256:}"
  assert_success
  assert_output '{}'
  art=$(root_digest "$IN" artifact)
  assert_equal "$(root_digest "$O" artifact)" "$art"
  cmp "$(blob "$O" "$art")" "$(blob "$IN" "$art")"
  skopeo_ inspect --raw "oci-archive:$OUT:artifact" >"$T/art.raw" 2>"$T/art.err" ||
    fail "skopeo inspect --raw oci-archive:$OUT:artifact: $(cat "$T/art.err")"
  assert_equal "$(sha256_of "$T/art.raw")" "$art"
}

@test "B30: unknown media types in the list and in index.json pass through in place, byte-identical" {
  # skopeo copy --all cannot copy an index holding an unknown media type
  # ("unsupported schema version 0"): push each platform on its own
  success unknown pure per-platform
  local idx old d
  assert_equal "$(jq -c '.manifests[1:]' "$O/index.json")" "$(jq -c '.manifests[1:]' "$IN/index.json")"
  idx=$(blob "$O" "$(root_digest "$O" latest)")
  old=$(blob "$IN" "$(root_digest "$IN" latest)")
  assert_equal "$(jq -c '.manifests[2]' "$idx")" "$(jq -c '.manifests[2]' "$old")"
  for d in $(jq -r '.manifests[1:][].digest' "$IN/index.json"); do
    cmp "$(blob "$O" "$d")" "$(blob "$IN" "$d")" || fail "blob $d changed"
  done
}

@test "B03 a: two runs in a pipe (a.bin, then b.bin) on the oras shape: base, a.bin, b.bin on each platform" {
  mkdir -p "$T/ab"
  "$PYTHON" -c 'import sys; sys.stdout.buffer.write(bytes(i % 251 for i in range(1024)))' >"$T/ab/a.bin"
  "$PYTHON" -c 'import sys; sys.stdout.buffer.write(bytes((i * 7 + 3) % 256 for i in range(1024)))' >"$T/ab/b.bin"
  NAME=b03a
  IN=$FX/layouts/oras
  OUT=$T/out.tar
  O=$T/o
  local rc
  olot_filter --mtime "$MTIME" "$T/ab/a.bin" <"$FX/oras.tar" 2>"$T/1.err" |
    olot_filter --mtime "$MTIME" "$T/ab/b.bin" >"$OUT" 2>"$T/2.err"
  rc=("${PIPESTATUS[@]}")
  [[ ${rc[*]} == "0 0" ]] || fail "exit ${rc[*]}: $(cat "$T/1.err" "$T/2.err")"
  extract "$OUT" "$O"
  check_tar "$OUT"
  assert_no_docker_types "$O"
  run bash -c "$PYTHON '$DCHECK' images '$O' | jq -r .digest"
  local m
  for m in $output; do
    assert_equal "$(jq -c '[.layers[].annotations["org.opencontainers.image.title"]]' "$(blob "$O" "$m")")" \
      '[null,"a.bin","b.bin"]'
  done
  MODEL=$T/ab
  assert_consumers model
}

@test "B03 b: an unreferenced Docker manifest blob is neither converted nor taken for an image" {
  filter orphan
  local orphan
  orphan=$(jq -r .orphan "$FX/expect/orphan.json")
  check_tar "$OUT" --allow-unreachable
  assert_unreachable_within "$O" "$orphan"
  if [[ -e $(blob "$O" "$orphan") ]]; then
    cmp "$(blob "$O" "$orphan")" "$(blob "$IN" "$orphan")" || fail "the orphan was rewritten"
  fi
  assert_no_docker_types "$O" "$orphan"
  run docker_images "$O"
  assert_equal "$(grep -c . <<<"$output")" 1
  assert_consumers pure
}

# rerun_identical NAME [ARGS...] — olot-filter ARGS on fx/NAME.tar, then
# the same command on its output: byte for byte the same tar (§5.2, §6.4, §10).
rerun_identical() {
  filter "$@"
  run_filter "$OUT" "$T/again.tar" --mtime "$MTIME" "${@:2}"
  assert_ok
  cmp "$OUT" "$T/again.tar" || fail "$*: the second run changed the output"
}

@test "B03 c: the second run converts nothing: pure and --model re-runs are byte-identical" {
  local n
  for n in oras list single gzlabel layertypes save25 unknown; do
    rerun_identical "$n"
    rerun_identical "$n" "${WITH_MODEL[@]}"
  done
}

@test "B03 c: the second run after attestations were dropped is byte-identical too" {
  rerun_identical attest
  rerun_identical attest "${WITH_MODEL[@]}"
}

# ------------------------------------------------------------------ §8 order

@test "§8: in every converted output each document comes after the blobs it references" {
  local run bad='' n
  # every fixture converted, and a few made ModelCars
  for run in oras list single plain gzlabel layertypes foreign-absent oci-docker-kids mistyped mistyped-root \
    attest attest-ref save25 save25-gd nolayers emptylayers inline unknown orphan \
    oras+model mistyped+model attest-ref+model save25-gd+model inline+model; do
    n=${run%+model}
    if [[ $run == *+model ]]; then
      run_filter "$FX/$n.tar" "$T/$run.tar" --mtime "$MTIME" "${WITH_MODEL[@]}"
    else
      run_filter "$FX/$n.tar" "$T/$run.tar" --mtime "$MTIME"
    fi
    [[ $status == 0 ]] || { bad+="$run: exit $status: $stderr"$'\n'; continue; }
    run "$PYTHON" "$OCICHECK" graph "$T/$run.tar" --allow-unreachable
    output=$(grep 'comes after' <<<"$output" || true)
    [[ -z $output ]] || bad+="$run:"$'\n'"$output"$'\n'
  done
  [[ -z $bad ]] || fail "documents written before the blobs they reference (a streaming consumer such as the registry sink of §8 fails on them):"$'\n'"$bad"
}
