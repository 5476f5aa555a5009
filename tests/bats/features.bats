#!/usr/bin/env bats
# Reproducibility and reporting (SPEC §2, §6.4, §6.5, §10): byte-identical
# outputs across model copies and bases, idempotent batches, --digest-file
# against what a registry reports, --report, --dry-run, the summary line,
# the progress meter in a real terminal, ModelPack manifests, --pack-small
# and --compression seen through umoci, the 125-layer warning, --platform
# pruning, and the --cache digest cache.

load helpers
load features_helpers

setup_file() {
  require_binary
  build_base "$BATS_FILE_TMPDIR/base"
  make_second_base "$BATS_FILE_TMPDIR/base2"
  "$PYTHON" "$FIXTURES/mkvariants.py" "$BATS_FILE_TMPDIR/base/layout" "$BATS_FILE_TMPDIR/v"
  tar -C "$BATS_FILE_TMPDIR/v/multiarch" -cf "$BATS_FILE_TMPDIR/multiarch.tar" .
  tar -C "$BATS_FILE_TMPDIR/v/nested" -cf "$BATS_FILE_TMPDIR/nested.tar" .
  make_two_images "$BATS_FILE_TMPDIR/base/layout" "$BATS_FILE_TMPDIR/two"
  make_untagged "$BATS_FILE_TMPDIR/base/layout" "$BATS_FILE_TMPDIR/untagged"
  "$FIXTURES/mkmodel.sh" "$BATS_FILE_TMPDIR/model"
  make_slowcat "$BATS_FILE_TMPDIR/slowcat"
  local b=$BATS_FILE_TMPDIR/batch
  mkdir -p "$b"
  printf 'file A\n' >"$b/A.bin"
  printf 'file B, a little longer\n' >"$b/B.bin"
  printf 'file C\n' >"$b/C.bin"
  head -c 70000 /dev/urandom >"$b/D.bin"
  registry_start
}

teardown_file() {
  registry_stop
}

setup() {
  BASE_TAR=$BATS_FILE_TMPDIR/base/base.tar
  BASE2_TAR=$BATS_FILE_TMPDIR/base2/base.tar
  MA_TAR=$BATS_FILE_TMPDIR/multiarch.tar
  MODEL=$BATS_FILE_TMPDIR/model
  BATCH=$BATS_FILE_TMPDIR/batch
  SLOWCAT=$BATS_FILE_TMPDIR/slowcat
  cd "$BATS_FILE_TMPDIR"
}

teardown() {
  if [[ -n ${TMUX_SOCK:-} && -S $TMUX_SOCK ]]; then
    tmux -S "$TMUX_SOCK" kill-server 2>/dev/null || true
  fi
}

# ok_filter IN OUT ARGS — run_filter with --mtime, must succeed and pass
# the output checks; the output is extracted to OUT.d.
ok_filter() {
  local in=$1 out=$2
  shift 2
  run_filter "$in" "$out" --mtime "$MTIME" "$@"
  assert_ok
  check_output "$out"
  rm -rf "$out.d"
  extract "$out" "$out.d"
}

# ================================================================ §10 determinism

@test "determinism: copies of the model with other mtimes, owners, modes and absolute paths give the same bytes" {
  local a=$BATS_TEST_TMPDIR/a/model b=$BATS_TEST_TMPDIR/elsewhere/deeper/snapshot
  mkdir -p "${a%/*}" "${b%/*}"
  # a: a fresh copy (every mtime is now, later than the epoch)
  cp -r "$MODEL" "$a"
  # b: the fixture's own files, dated later still, another owner, other modes
  cp -a "$MODEL" "$b"
  find "$b" -exec touch -h -d @$((MTIME + 777777)) {} +
  find "$b" -type f -exec chmod 0640 {} +
  find "$b" -type d -exec chmod 0750 {} +
  if (($(id -u) == 0)); then chown -hR 65534:65534 "$b"; fi
  # the two copies really differ on disk
  [[ $(stat -c %Y "$a/config.json") != $(stat -c %Y "$b/config.json") ]] || fail "same mtimes"
  [[ $(stat -c %a "$a/config.json") != $(stat -c %a "$b/config.json") ]] || fail "same modes"
  (($(stat -c %Y "$a/config.json") > MTIME && $(stat -c %Y "$b/config.json") > MTIME))

  cd "${a%/*}"
  SOURCE_DATE_EPOCH=$MTIME run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/one.tar" -m model -c model/README.md \
    --report "$BATS_TEST_TMPDIR/one.json" --digest-file "$BATS_TEST_TMPDIR/one.digest"
  assert_ok
  cd /
  SOURCE_DATE_EPOCH=$MTIME run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/two.tar" -m "$b" -c "$b/README.md" \
    --report "$BATS_TEST_TMPDIR/two.json" --digest-file "$BATS_TEST_TMPDIR/two.digest"
  assert_ok
  check_output "$BATS_TEST_TMPDIR/one.tar"
  # the model is in there: 1 base layer + 7 files
  extract "$BATS_TEST_TMPDIR/one.tar" "$BATS_TEST_TMPDIR/one.d"
  assert_equal "$(jq '.layers | length' "$(root_doc "$BATS_TEST_TMPDIR/one.d")")" $((1 + $(model_files "$MODEL" | wc -l)))
  assert_equal "$(sha256sum <"$BATS_TEST_TMPDIR/one.tar")" "$(sha256sum <"$BATS_TEST_TMPDIR/two.tar")"
  cmp "$BATS_TEST_TMPDIR/one.json" "$BATS_TEST_TMPDIR/two.json" || fail "the reports differ"
  cmp "$BATS_TEST_TMPDIR/one.digest" "$BATS_TEST_TMPDIR/two.digest" || fail "the digest files differ"
}

@test "determinism: mtimes earlier than the epoch are kept, so equal early mtimes agree and another one changes that layer only" {
  local a=$BATS_TEST_TMPDIR/a/model b=$BATS_TEST_TMPDIR/b/model
  mkdir -p "${a%/*}" "${b%/*}"
  cp -r "$MODEL" "$a"
  cp -r "$MODEL" "$b"
  find "$a" "$b" -exec touch -h -d @1600000000 {} +
  ok_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/a.tar" -m "$a"
  ok_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/b.tar" -m "$b"
  cmp "$BATS_TEST_TMPDIR/a.tar" "$BATS_TEST_TMPDIR/b.tar" || fail "same early mtimes, different outputs"
  # one file a second older: exactly its layer changes
  touch -d @1599999999 "$b/config.json"
  ok_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/c.tar" -m "$b"
  run diff <(jq -r '.layers[].digest' "$(root_doc "$BATS_TEST_TMPDIR/a.tar.d")") \
    <(jq -r '.layers[].digest' "$(root_doc "$BATS_TEST_TMPDIR/c.tar.d")")
  assert_failure
  assert_equal "$(grep -c '^<' <<<"$output")" 1
  local changed
  changed=$(jq -r '.layers[] | select(.annotations["olot.layer.content.inlayerpath"] == "/models/config.json") | .digest' \
    "$(root_doc "$BATS_TEST_TMPDIR/a.tar.d")")
  assert_line "< $changed"
}

@test "determinism: two bases (amd64 and arm64 builds) get the same model layer blobs" {
  ok_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/amd.tar" -m model -c model/README.md
  ok_filter "$BASE2_TAR" "$BATS_TEST_TMPDIR/arm.tar" -m model -c model/README.md
  local A=$BATS_TEST_TMPDIR/amd.tar.d R=$BATS_TEST_TMPDIR/arm.tar.d ma mr
  ma=$(root_doc "$A")
  mr=$(root_doc "$R")
  # the bases really differ: base layer, config, architecture
  [[ $(jq -r '.layers[0].digest' "$ma") != $(jq -r '.layers[0].digest' "$mr") ]] || fail "same base layer"
  assert_equal "$(jq -r .architecture "$(config_doc "$A" "$ma")")" amd64
  assert_equal "$(jq -r .architecture "$(config_doc "$R" "$mr")")" arm64
  # the model layer descriptors are identical, and so are their blobs
  local da dr
  da=$(model_descs "$ma")
  dr=$(model_descs "$mr")
  assert_equal "$(jq length <<<"$da")" "$(model_files "$MODEL" | wc -l)"
  assert_equal "$da" "$dr"
  assert_equal "$(jq -c '.rootfs.diff_ids[1:]' "$(config_doc "$A" "$ma")")" "$(jq -c '.rootfs.diff_ids[1:]' "$(config_doc "$R" "$mr")")"
  local d
  for d in $(jq -r '.[].digest' <<<"$da"); do
    cmp "$(blob "$A" "$d")" "$(blob "$R" "$d")" || fail "layer blob $d differs"
  done
  # compressed model layers are the same on both bases too
  local c
  for c in gzip zstd; do
    ok_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/amd.$c.tar" -m model -c model/README.md --compression "$c"
    ok_filter "$BASE2_TAR" "$BATS_TEST_TMPDIR/arm.$c.tar" -m model -c model/README.md --compression "$c"
    assert_equal "$(model_descs "$(root_doc "$BATS_TEST_TMPDIR/amd.$c.tar.d")")" "$(model_descs "$(root_doc "$BATS_TEST_TMPDIR/arm.$c.tar.d")")"
  done
  # and that is what skopeo sees in the two archives
  run -0 skopeo_ inspect "oci-archive:$BATS_TEST_TMPDIR/amd.tar"
  local la=$output
  run -0 skopeo_ inspect "oci-archive:$BATS_TEST_TMPDIR/arm.tar"
  assert_equal "$(jq -c '.Layers[1:]' <<<"$output")" "$(jq -c '.Layers[1:]' <<<"$la")"
  assert_equal "$(jq -r .Architecture <<<"$output")" arm64
}

# ================================================================ batches (§6.4)

@test "batches: run 1 adds A, B; run 2 adds C, D; run 3 repeats C, D and is byte-identical, with a note per skipped file" {
  local o=$BATS_TEST_TMPDIR
  ok_filter "$BASE_TAR" "$o/r1.tar" -m "$BATCH/A.bin" -m "$BATCH/B.bin"
  ok_filter "$o/r1.tar" "$o/r2.tar" -m "$BATCH/C.bin" -m "$BATCH/D.bin"
  run jq -r '.layers[1:][].annotations["olot.layer.content.inlayerpath"]' "$(root_doc "$o/r2.tar.d")"
  assert_output "$(printf '/models/%s\n' A.bin B.bin C.bin D.bin)"
  # run 2 kept run 1's layers as they were
  assert_equal "$(jq -c '.layers[:3]' "$(root_doc "$o/r2.tar.d")")" "$(jq -c '.layers' "$(root_doc "$o/r1.tar.d")")"
  run_filter "$o/r2.tar" "$o/r3.tar" --mtime "$MTIME" -m "$BATCH/C.bin" -m "$BATCH/D.bin"
  assert_ok
  cmp "$o/r2.tar" "$o/r3.tar" || fail "run 3 changed the image"
  # one note per skipped file, naming its in-image path; no warnings
  [[ $stderr == *"/models/C.bin"* && $stderr == *"/models/D.bin"* ]] || fail "no note on the skipped files: $stderr"
  local l
  for l in "${stderr_lines[@]}"; do
    [[ $l != *warning:* ]] || fail "run 3 warned: $l"
  done
  assert_equal "${stderr_lines[-1]}" "olot-filter: added 0 layer(s), rewrote 0 document(s), 0 conversion(s)"
  # what a consumer unpacks from run 3: all four files
  extract "$o/r3.tar" "$o/r3.tar.d"
  umoci_models "$o/r3.tar.d" "$o/bundle"
  for l in A B C D; do
    cmp "$BATCH/$l.bin" "$o/bundle/rootfs/models/$l.bin" || fail "/models/$l.bin differs"
  done
}

@test "batches: a repeated file with new content at the same path is added again, a repeated one at another prefix too" {
  local o=$BATS_TEST_TMPDIR m=$BATS_TEST_TMPDIR/m
  mkdir -p "$m"
  cp "$BATCH/C.bin" "$BATCH/D.bin" "$m/"
  ok_filter "$BASE_TAR" "$o/r1.tar" -m "$m/C.bin" -m "$m/D.bin"
  # A and D again (D unchanged, C changed): only C is added
  printf 'file C, second version\n' >"$m/C.bin"
  ok_filter "$o/r1.tar" "$o/r2.tar" -m "$m/C.bin" -m "$m/D.bin"
  [[ $stderr == *"/models/D.bin"* ]] || fail "no note on the skipped D.bin: $stderr"
  run jq -r '.layers[1:][].annotations["olot.layer.content.inlayerpath"]' "$(root_doc "$o/r2.tar.d")"
  assert_output "$(printf '/models/%s\n' C.bin D.bin C.bin)"
  umoci_models "$o/r2.tar.d" "$o/bundle"
  cmp "$m/C.bin" "$o/bundle/rootfs/models/C.bin" || fail "the image does not have the second C.bin"
  # the same D at another prefix is another in-layer path: added
  ok_filter "$o/r2.tar" "$o/r3.tar" --prefix /opt/extra -m "$m/D.bin"
  run jq -r '.layers[1:][].annotations["olot.layer.content.inlayerpath"]' "$(root_doc "$o/r3.tar.d")"
  assert_line --index 3 /opt/extra/D.bin
}

@test "batches: a multi-arch batch with --add-modelpack: repeating is byte-identical, a later batch leaves the ModelPack alone" {
  local o=$BATS_TEST_TMPDIR
  ok_filter "$MA_TAR" "$o/m1.tar" --add-modelpack -m "$BATCH/A.bin" -m "$BATCH/B.bin"
  ok_filter "$o/m1.tar" "$o/m2.tar" --add-modelpack -m "$BATCH/A.bin" -m "$BATCH/B.bin"
  cmp "$o/m1.tar" "$o/m2.tar" || fail "re-running with --add-modelpack changed the image"
  ok_filter "$o/m1.tar" "$o/m3.tar" --add-modelpack -m "$BATCH/C.bin"
  local i1 i3
  i1=$(root_doc "$o/m1.tar.d")
  i3=$(root_doc "$o/m3.tar.d")
  # exactly one unknown/unknown entry, the very same ModelPack manifest
  assert_equal "$(jq '[.manifests[] | select(.platform.os == "unknown")] | length' "$i3")" 1
  assert_equal "$(jq -c '.manifests[] | select(.platform.os == "unknown")' "$i3")" \
    "$(jq -c '.manifests[] | select(.platform.os == "unknown")' "$i1")"
  # while both platforms got C.bin
  local a
  for a in amd64 arm64; do
    assert_equal "$(jq -r '.layers[-1].annotations["olot.layer.content.inlayerpath"]' "$(platform_doc "$o/m3.tar.d" "$i3" $a)")" /models/C.bin
  done
  # and a later batch without the flag keeps it too
  ok_filter "$o/m1.tar" "$o/m4.tar" -m "$BATCH/C.bin"
  assert_equal "$(jq -c '.manifests[] | select(.platform.os == "unknown")' "$(root_doc "$o/m4.tar.d")")" \
    "$(jq -c '.manifests[] | select(.platform.os == "unknown")' "$i1")"
}

@test "batches: re-running on its own output is byte-identical with --pack-small, gzip, zstd and on a multi-arch index" {
  local o=$BATS_TEST_TMPDIR opts in n=0
  for in in "$BASE_TAR" "$MA_TAR"; do
    for opts in "" "--pack-small 1024" "--compression gzip" "--compression zstd"; do
      n=$((n + 1))
      # shellcheck disable=SC2086
      ok_filter "$in" "$o/$n.a.tar" -m model -c model/README.md $opts
      # shellcheck disable=SC2086
      ok_filter "$o/$n.a.tar" "$o/$n.b.tar" -m model -c model/README.md $opts
      cmp "$o/$n.a.tar" "$o/$n.b.tar" || fail "re-running '$opts' on $(basename "$in") changed the output"
      assert_equal "${stderr_lines[-1]}" "olot-filter: added 0 layer(s), rewrote 0 document(s), 0 conversion(s)"
    done
  done
}

# ================================================================ --digest-file

@test "--digest-file: the digest skopeo inspect reports after skopeo copy --preserve-digests to a registry" {
  to_registry_via_fifo test/digestfile:1 --preserve-digests -- \
    olot_filter -i "$BASE_TAR" --mtime "$MTIME" -m model -c model/README.md --digest-file "$BATS_TEST_TMPDIR/digest"
  [[ $producer_status == 0 ]] || fail "olot-filter exited $producer_status: $stderr"
  [[ $skopeo_status == 0 ]] || fail "skopeo copy exited $skopeo_status: $skopeo_log"
  run cat "$BATS_TEST_TMPDIR/digest"
  assert_output --regexp '^sha256:[0-9a-f]{64}$'
  local want=$output
  run -0 skopeo_ inspect --tls-verify=false "docker://$REGISTRY/test/digestfile:1"
  assert_equal "$(jq -r .Digest <<<"$output")" "$want"
  run -0 skopeo_ inspect --tls-verify=false --raw "docker://$REGISTRY/test/digestfile:1"
  assert_equal "$(printf '%s' "$output" | digest_of_stdin)" "$want"
  # and the registry has it under that digest
  run -0 skopeo_ inspect --tls-verify=false --raw "docker://$REGISTRY/test/digestfile@$want"
}

@test "--digest-file: a multi-arch index pushed with --all: the index digest the registry serves" {
  to_registry_via_fifo test/digestfile-multi:1 --all --preserve-digests -- \
    olot_filter -i "$MA_TAR" --mtime "$MTIME" -m model --add-modelpack --digest-file "$BATS_TEST_TMPDIR/digest"
  [[ $producer_status == 0 ]] || fail "olot-filter exited $producer_status: $stderr"
  [[ $skopeo_status == 0 ]] || fail "skopeo copy exited $skopeo_status: $skopeo_log"
  run cat "$BATS_TEST_TMPDIR/digest"
  assert_output --regexp '^sha256:[0-9a-f]{64}$'
  local want=$output
  run -0 skopeo_ inspect --tls-verify=false --raw "docker://$REGISTRY/test/digestfile-multi:1"
  assert_equal "$(printf '%s' "$output" | digest_of_stdin)" "$want"
  assert_equal "$(jq -r .mediaType <<<"$output")" application/vnd.oci.image.index.v1+json
}

@test "--digest-file: several modified root entries: one line each, in index order, with the ref name; skopeo agrees per tag" {
  local t=$BATS_TEST_TMPDIR/out.tar
  ok_filter "$BATS_FILE_TMPDIR/two/two.tar" "$t" -m model --digest-file "$BATS_TEST_TMPDIR/digests"
  local refs
  refs=$(jq -r '.manifests[].annotations["org.opencontainers.image.ref.name"]' "$t.d/index.json")
  assert_equal "$(sort <<<"$refs")" "$(printf 'latest\nother\n')"
  run cat "$BATS_TEST_TMPDIR/digests"
  assert_equal "${#lines[@]}" 2
  assert_output "$(jq -r '.manifests[] | .digest + " " + .annotations["org.opencontainers.image.ref.name"]' "$t.d/index.json")"
  local line d r
  for line in "${lines[@]}"; do
    d=${line%% *} r=${line#* }
    run -0 skopeo_ inspect "oci-archive:$t:$r"
    assert_equal "$(jq -r .Digest <<<"$output")" "$d"
  done
  # the two images are different images
  [[ ${lines[0]%% *} != "${lines[1]%% *}" ]] || fail "both tags have one digest: ${lines[*]}"
}

@test "--digest-file: one modified entry of several (--ref) is one bare digest line" {
  local t=$BATS_TEST_TMPDIR/out.tar
  ok_filter "$BATS_FILE_TMPDIR/two/two.tar" "$t" -m model --ref other --digest-file "$BATS_TEST_TMPDIR/digests"
  run cat "$BATS_TEST_TMPDIR/digests"
  assert_output --regexp '^sha256:[0-9a-f]{64}$'
  assert_output "$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "other") | .digest' "$t.d/index.json")"
  # and the untouched entry kept its digest
  assert_equal "$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest") | .digest' "$t.d/index.json")" \
    "$(jq -r '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == "latest") | .digest' "$BATS_FILE_TMPDIR/two/layout/index.json")"
}

# ================================================================ --report

@test "--report: the layer list is the model files, in order, with the digests, diff_ids, sizes and content digests of the image" {
  local t=$BATS_TEST_TMPDIR/out.tar r=$BATS_TEST_TMPDIR/report.json
  ok_filter "$BASE_TAR" "$t" -m model -c model/README.md --report "$r"
  local man cfg
  man=$(root_doc "$t.d")
  cfg=$(config_doc "$t.d" "$man")
  assert_equal "$(jq -r .version "$r")" 1
  # paths: the model files in bytewise order, the modelcard last
  run jq -r '.layers[].path' "$r"
  assert_output "$( (model_files "$MODEL" | grep -vx README.md; echo README.md) | sed 's,^,/models/,')"
  # each entry is the descriptor at the same position, its diff_id, its blob
  local n i p d
  n=$(jq '.layers | length' "$r")
  assert_equal "$n" 7
  for ((i = 0; i < n; i++)); do
    d=$(jq -r ".layers[$i].digest" "$r")
    p=$(jq -r ".layers[$i].path" "$r")
    assert_equal "$d" "$(jq -r ".layers[$((i + 1))].digest" "$man")"
    assert_equal "$(jq -r ".layers[$i].mediaType" "$r")" "$(jq -r ".layers[$((i + 1))].mediaType" "$man")"
    assert_equal "$(jq -r ".layers[$i].diffId" "$r")" "$(jq -r ".rootfs.diff_ids[$((i + 1))]" "$cfg")"
    assert_equal "$(jq -r ".layers[$i].size" "$r")" "$(stat -c %s "$(blob "$t.d" "$d")")"
    assert_equal "$(jq -r ".layers[$i].contentDigest" "$r")" "$(sha256_of "$MODEL/${p#/models/}")"
  done
  # roots: the new root entry
  assert_equal "$(jq -c .roots "$r")" "$(jq -c '[.manifests[] | {ref: .annotations["org.opencontainers.image.ref.name"], digest}]' "$t.d/index.json")"
  # documents: the config and the manifest, old (from the input) -> new (in the output)
  local base=$BATS_FILE_TMPDIR/base/layout bman
  bman=$(root_doc "$base")
  assert_equal "$(jq -c '[.documents[] | [.kind, .old, .new, .mediaType]]' "$r")" \
    "$(jq -nc --arg oc "$(jq -r .config.digest "$bman")" --arg nc "$(jq -r .config.digest "$man")" \
      --arg om "$(jq -r '.manifests[0].digest' "$base/index.json")" --arg nm "$(jq -r '.manifests[0].digest' "$t.d/index.json")" \
      '[["config", $oc, $nc, "application/vnd.oci.image.config.v1+json"], ["manifest", $om, $nm, "application/vnd.oci.image.manifest.v1+json"]]')"
  assert_equal "$(jq -c '[.conversions, .dropped]' "$r")" '[[],[]]'
}

@test "--report: a --pack-small layer has a null contentDigest, a ModelPack manifest and config are new (old null)" {
  local t=$BATS_TEST_TMPDIR/out.tar r=$BATS_TEST_TMPDIR/report.json
  ok_filter "$MA_TAR" "$t" -m model --pack-small 1024 --add-modelpack --report "$r"
  run jq -c '.layers[] | [.path, .contentDigest]' "$r"
  assert_line --index 0 '["/models",null]'
  assert_equal "$(jq '[.layers[] | select(.contentDigest == null)] | length' "$r")" 1
  # new documents: the ModelPack manifest and its config
  local idx mp
  idx=$(root_doc "$t.d")
  mp=$(jq -r '.manifests[] | select(.platform.os == "unknown") | .digest' "$idx")
  [[ -n $mp ]] || fail "no ModelPack entry"
  assert_equal "$(jq -c --arg d "$mp" '[.documents[] | select(.new == $d) | [.kind, .old]]' "$r")" '[["manifest",null]]'
  assert_equal "$(jq -c --arg d "$(jq -r .config.digest "$(blob "$t.d" "$mp")")" '[.documents[] | select(.new == $d) | [.kind, .old, .mediaType]]' "$r")" \
    '[["config",null,"application/vnd.cncf.model.config.v1+json"]]'
  # every "new" document is in the output, every "old" one is gone from it
  local d
  for d in $(jq -r '.documents[].new' "$r"); do
    [[ -f $(blob "$t.d" "$d") ]] || fail "report names $d, which is not in the output"
  done
  for d in $(jq -r '.documents[].old // empty' "$r"); do
    [[ -f $(blob "$BATS_FILE_TMPDIR/v/multiarch" "$d") ]] || fail "report says $d was replaced, but it is not in the input"
    [[ ! -e $(blob "$t.d" "$d") ]] || fail "replaced document $d is still in the output"
  done
}

@test "--dry-run: nothing written but the report, which equals the real run's; the plan names the real digests" {
  local o=$BATS_TEST_TMPDIR
  run_filter "$BASE_TAR" "$o/real.tar" --mtime "$MTIME" -m model -c model/README.md --report "$o/real.json" --digest-file "$o/real.digest"
  assert_ok
  run_filter "$BASE_TAR" "$o/stdout" --mtime "$MTIME" -m model -c model/README.md --dry-run \
    --report "$o/dry.json" --digest-file "$o/dry.digest" -o "$o/dry.tar"
  [[ $status == 0 ]] || fail "--dry-run exited $status: $stderr"
  [[ ! -s $o/stdout ]] || fail "--dry-run wrote on stdout"
  [[ ! -e $o/dry.tar ]] || fail "--dry-run created the -o file"
  [[ ! -e $o/dry.digest ]] || fail "--dry-run wrote the digest file"
  run ls -A "$o"
  refute_output --partial olot-tmp
  cmp "$o/real.json" "$o/dry.json" || fail "the --dry-run report differs from the real one"
  # the plan: one "add layer" line per layer of the real run, and the root
  local l want=()
  while IFS= read -r l; do want+=("$l"); done < <(jq -r '.layers[] | "plan: add layer \(.path) \(.digest) (\(.size) bytes)"' "$o/real.json")
  for l in "${want[@]}"; do
    printf '%s\n' "${stderr_lines[@]}" | grep -qxF -- "$l" || fail "the plan lacks: $l"$'\n'"$stderr"
  done
  printf '%s\n' "${stderr_lines[@]}" | grep -qxF "plan: root latest -> $(cat "$o/real.digest")" || fail "the plan lacks the root: $stderr"
}

# ================================================================ summary line

@test "summary: one last line on stderr with the counts and the new digest; -q prints nothing" {
  local t=$BATS_TEST_TMPDIR/out.tar r=$BATS_TEST_TMPDIR/report.json
  ok_filter "$BASE_TAR" "$t" -m model -c model/README.md --report "$r"
  assert_equal "${#stderr_lines[@]}" 1
  assert_equal "${stderr_lines[-1]}" \
    "olot-filter: added 7 layer(s), rewrote 2 document(s), 0 conversion(s); latest $(jq -r '.manifests[0].digest' "$t.d/index.json")"
  assert_equal "$(jq '.layers | length' "$r"),$(jq '.documents | length' "$r")" 7,2
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/q.tar" --mtime "$MTIME" -m model -c model/README.md -q
  assert_ok
  assert_equal "$stderr" ""
  cmp "$t" "$BATS_TEST_TMPDIR/q.tar" || fail "-q changed the output"
}

@test "summary: a Docker conversion is counted; an entry without a ref name is 'root'; several entries each get theirs" {
  ok_filter "$BATS_FILE_TMPDIR/untagged/untagged.tar" "$BATS_TEST_TMPDIR/u.tar" -m "$BATCH/A.bin"
  assert_equal "${stderr_lines[-1]}" \
    "olot-filter: added 1 layer(s), rewrote 2 document(s), 0 conversion(s); root $(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/u.tar.d/index.json")"
  ok_filter "$BATS_FILE_TMPDIR/two/two.tar" "$BATS_TEST_TMPDIR/t.tar" -m "$BATCH/A.bin"
  assert_equal "${stderr_lines[-1]}" \
    "olot-filter: added 1 layer(s), rewrote 4 document(s), 0 conversion(s)$(jq -j '.manifests[] | "; " + .annotations["org.opencontainers.image.ref.name"] + " " + .digest' "$BATS_TEST_TMPDIR/t.tar.d/index.json")"
  tar -C "$BATS_FILE_TMPDIR/v/docker-single" -cf "$BATS_TEST_TMPDIR/ds.tar" .
  ok_filter "$BATS_TEST_TMPDIR/ds.tar" "$BATS_TEST_TMPDIR/ds.out" --report "$BATS_TEST_TMPDIR/ds.json"
  local n
  n=$(jq '.conversions | length' "$BATS_TEST_TMPDIR/ds.json")
  ((n > 0)) || fail "no conversions reported"
  assert_equal "${stderr_lines[-1]}" \
    "olot-filter: added 0 layer(s), rewrote $(jq '.documents | length' "$BATS_TEST_TMPDIR/ds.json") document(s), $n conversion(s); latest $(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/ds.out.d/index.json")"
}

# ================================================================ --progress

@test "progress: in a terminal (script) the meter is redrawn in place on stderr and erased; stdout is the same tar" {
  local o=$BATS_TEST_TMPDIR
  # the reference: stderr a file, so no meter
  "$SLOWCAT" "$BASE_TAR" 0 | olot_filter --mtime "$MTIME" -m "$MODEL" >"$o/plain.tar" 2>"$o/plain.err"
  cat >"$o/run.sh" <<EOF
"$SLOWCAT" "$BASE_TAR" 1.5 | "$OLOT_FILTER" --mtime "$MTIME" -m "$MODEL" >"$o/tty.tar"
EOF
  in_pty "$o/tty.log" "$o/run.sh"
  assert_equal "$pty_status" 0
  cmp "$o/plain.tar" "$o/tty.tar" || fail "the terminal run's tar differs"
  # redrawn: several "\rin … out …\e[K" frames, none of them ending a line
  local n
  n=$(meter_draws "$o/tty.log")
  ((n >= 2)) || fail "the meter was drawn $n times in 1.5 s: $(cat -v "$o/tty.log")"
  run meter_erased "$o/tty.log"
  assert_success
  # with the frames erased, the terminal shows exactly what a non-terminal run prints
  run strip_meter "$o/tty.log"
  assert_success
  assert_output "$(cat "$o/plain.err")"
}

@test "progress: when stderr is not a terminal there is none by default; --progress forces it, still only on stderr" {
  local o=$BATS_TEST_TMPDIR
  "$SLOWCAT" "$BASE_TAR" 1.5 | olot_filter --mtime "$MTIME" -m "$MODEL" >"$o/a.tar" 2>"$o/a.err"
  run cat -v "$o/a.err"
  assert_equal "${#lines[@]}" 1
  assert_output --regexp '^olot-filter: added 7 layer\(s\)'
  refute_output --partial '^['
  refute_output --partial '^M'
  "$SLOWCAT" "$BASE_TAR" 1.5 | olot_filter --mtime "$MTIME" -m "$MODEL" --progress >"$o/b.tar" 2>"$o/b.err"
  local n
  n=$(meter_draws "$o/b.err")
  ((n >= 2)) || fail "--progress drew $n frames: $(cat -v "$o/b.err")"
  cmp "$o/a.tar" "$o/b.tar" || fail "--progress changed stdout"
}

@test "progress: --no-progress in a terminal draws nothing; --progress with --no-progress is a usage error" {
  local o=$BATS_TEST_TMPDIR
  cat >"$o/run.sh" <<EOF
"$SLOWCAT" "$BASE_TAR" 1.5 | "$OLOT_FILTER" --mtime "$MTIME" -m "$MODEL" --no-progress >"$o/tty.tar"
EOF
  in_pty "$o/tty.log" "$o/run.sh"
  assert_equal "$pty_status" 0
  run cat -v "$o/tty.log"
  refute_output --partial '^['
  assert_equal "${#lines[@]}" 1
  assert_output --regexp '^olot-filter: added 7 layer'
  run_filter "$BASE_TAR" "$o/out" --mtime "$MTIME" -m "$MODEL" --progress --no-progress
  assert_equal "$status" 64
  assert_equal "${#stderr_lines[@]}" 1
  [[ ! -s $o/out ]] || fail "stdout is not empty"
}

@test "progress: a warning printed while the meter runs lands on a line of its own" {
  local o=$BATS_TEST_TMPDIR l=$BATS_TEST_TMPDIR/layout
  cp -r "$BATS_FILE_TMPDIR/base/layout" "$l"
  echo 'not part of the layout' >"$l/extra.txt"
  # the unknown root file comes after the pause, while the meter is up
  (cd "$l" && tar -cf "$o/in.tar" oci-layout blobs extra.txt index.json)
  olot_filter --mtime "$MTIME" -m "$MODEL" <"$o/in.tar" >"$o/plain.tar" 2>"$o/plain.err"
  grep -q '^olot-filter: warning: .*extra.txt' "$o/plain.err" || fail "no warning: $(cat "$o/plain.err")"
  slow_filter_in_pty "$o/in.tar" "$o/tty.tar" "$o/tty.log"
  assert_equal "$pty_status" 0
  (($(meter_draws "$o/tty.log") >= 2)) || fail "no meter: $(cat -v "$o/tty.log")"
  run strip_meter "$o/tty.log"
  assert_success
  assert_output "$(cat "$o/plain.err")"
}

# tmux_start SCRIPT WIDTH — a detached tmux session of WIDTH columns running
# `bash SCRIPT`, on a socket of its own (teardown kills that server only).
tmux_start() {
  TMUX_SOCK=$BATS_TEST_TMPDIR/tmux.sock
  tmux -S "$TMUX_SOCK" -f /dev/null new-session -d -x "$2" -y 20 "bash $1"
}

# tmux_wait_for REGEX — poll the screen (into $screen) until a line matches
# REGEX, 10 s at most.
tmux_wait_for() {
  local i
  for ((i = 0; i < 100; i++)); do
    screen=$(tmux -S "$TMUX_SOCK" capture-pane -p)
    grep -Eq -- "$1" <<<"$screen" && return 0
    sleep 0.1
  done
  fail "'$1' never appeared on the screen:"$'\n'"$screen"
}

METER_RE='^in [0-9.]+ [KMGT]?i?B +out [0-9.]+ [KMGT]?i?B'

@test "progress: in tmux (40 columns) the meter is one line, cut to fit, redrawn in place while the input stalls, gone at the end" {
  command -v tmux >/dev/null || skip "tmux is not installed"
  local o=$BATS_TEST_TMPDIR screen screen1 row1 row2 m1 m2
  cat >"$o/run.sh" <<EOF
"$SLOWCAT" "$BASE_TAR" 4 | "$OLOT_FILTER" --mtime "$MTIME" -m "$MODEL" >"$o/tty.tar"
echo "EXIT=\$?"
sleep 60
EOF
  tmux_start "$o/run.sh" 40
  tmux_wait_for "$METER_RE"
  screen1=$screen
  sleep 1
  screen=$(tmux -S "$TMUX_SOCK" capture-pane -p)
  # one meter row, the same row both times, with new figures, narrower than the pane
  assert_equal "$(grep -Ec "$METER_RE" <<<"$screen1")" 1
  assert_equal "$(grep -Ec "$METER_RE" <<<"$screen")" 1
  row1=$(grep -En "$METER_RE" <<<"$screen1" | cut -d: -f1)
  row2=$(grep -En "$METER_RE" <<<"$screen" | cut -d: -f1)
  assert_equal "$row1" "$row2"
  m1=$(grep -E "$METER_RE" <<<"$screen1")
  m2=$(grep -E "$METER_RE" <<<"$screen")
  [[ $m1 != "$m2" ]] || fail "the meter was not redrawn: $m2"
  (($(LC_ALL=C.UTF-8 wc -m <<<"$m2") - 1 < 40)) || fail "the meter fills the 40-column line (it wraps): '$m2'"
  # nothing below it: no wrapped rest of the line
  assert_equal "$(sed -n "$((row2 + 1))p" <<<"$screen")" ""
  tmux_wait_for '^EXIT='
  [[ $screen == *EXIT=0* ]] || fail "the run did not end well: $screen"
  run grep -Ec "$METER_RE|KiB/s" <<<"$screen"
  assert_output 0
  grep -q '^olot-filter: added 7 layer(s)' <<<"$screen" || fail "no summary line at column 0: $screen"
  "$SLOWCAT" "$BASE_TAR" 0 | olot_filter --mtime "$MTIME" -m "$MODEL" >"$o/plain.tar" 2>/dev/null
  cmp "$o/plain.tar" "$o/tty.tar" || fail "the tar written under tmux differs"
}

@test "progress: Ctrl-C in tmux while the meter is up: exit 130, the meter erased, no -o file left" {
  command -v tmux >/dev/null || skip "tmux is not installed"
  local o=$BATS_TEST_TMPDIR screen
  mkdir -p "$o/dest"
  # the shell traps SIGINT (its children still get the default) so it lives on to report
  cat >"$o/run.sh" <<EOF
trap 'true' INT
"$SLOWCAT" "$BASE_TAR" 30 | "$OLOT_FILTER" --mtime "$MTIME" -m "$MODEL" -o "$o/dest/out.tar"
echo "EXIT=\$?"
sleep 60
EOF
  # wide enough that the meter and the tty's "^C" echo fit on one row
  tmux_start "$o/run.sh" 200
  tmux_wait_for "$METER_RE"
  tmux -S "$TMUX_SOCK" send-keys C-c
  tmux_wait_for 'EXIT='
  [[ $screen == *EXIT=130* ]] || fail "not exit 130: $screen"
  run grep -Ec "$METER_RE|KiB/s" <<<"$screen"
  [[ $output == 0 ]] || fail "the meter is still on the screen after Ctrl-C:"$'\n'"$screen"
  run ls -A "$o/dest"
  assert_output ''
}

@test "progress: SIGTERM while the meter is up (script): exit 143, the meter erased before exit" {
  local o=$BATS_TEST_TMPDIR
  mkdir -p "$o/dest"
  cat >"$o/run.sh" <<EOF
"$SLOWCAT" "$BASE_TAR" 3 | "$OLOT_FILTER" --mtime "$MTIME" -m "$MODEL" -o "$o/dest/out.tar" &
pid=\$!
sleep 1.2
kill -TERM \$pid
wait \$pid
echo "EXIT=\$?"
wait
EOF
  in_pty "$o/tty.log" "$o/run.sh"
  assert_equal "$pty_status" 0
  grep -q 'EXIT=143' "$o/tty.log" || fail "not exit 143: $(cat -v "$o/tty.log")"
  (($(meter_draws "$o/tty.log") >= 2)) || fail "no meter: $(cat -v "$o/tty.log")"
  run meter_erased "$o/tty.log"
  assert_success
  run ls -A "$o/dest"
  assert_output ''
}

@test "progress: an error while the meter runs: exit 65, the terminal shows exactly the error line" {
  local o=$BATS_TEST_TMPDIR l=$BATS_TEST_TMPDIR/layout big
  cp -r "$BATS_FILE_TMPDIR/base/layout" "$l"
  big=$(cd "$l/blobs/sha256" && ls -S | head -1)
  "$PYTHON" -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[-100]^=1; open(p,"wb").write(b)' "$l/blobs/sha256/$big"
  tar -C "$l" -cf "$o/bad.tar" .
  run_filter "$o/bad.tar" "$o/plain.out" --mtime "$MTIME" -m "$MODEL"
  assert_refused 65 "$o/plain.out" "$big"
  slow_filter_in_pty "$o/bad.tar" "$o/tty.out" "$o/tty.log"
  assert_equal "$pty_status" 65
  (($(meter_draws "$o/tty.log") >= 2)) || fail "no meter: $(cat -v "$o/tty.log")"
  run meter_erased "$o/tty.log"
  assert_success
  run strip_meter "$o/tty.log"
  assert_success
  assert_output "$stderr"
}

# ================================================================ ModelPack (§6.5)

@test "modelpack: one manifest in the index: artifactType, config with modelfs.diffIds, the same layer blobs retyped, unknown/unknown" {
  local t=$BATS_TEST_TMPDIR/out.tar
  ok_filter "$MA_TAR" "$t" -m model -c model/README.md --add-modelpack
  local d=$t.d idx amd mpe mp cfg
  idx=$(root_doc "$d")
  assert_equal "$(jq '.manifests | length' "$idx")" 3
  # the two platforms first, as they were, then the ModelPack entry
  assert_equal "$(jq -c '[.manifests[:2][].platform]' "$idx")" \
    "$(jq -c '[.manifests[].platform]' "$(root_doc "$BATS_FILE_TMPDIR/v/multiarch")")"
  mpe=$(jq -c '.manifests[2]' "$idx")
  assert_equal "$(jq -c .platform <<<"$mpe")" '{"architecture":"unknown","os":"unknown"}'
  assert_equal "$(jq -r .mediaType <<<"$mpe")" application/vnd.oci.image.manifest.v1+json
  # deliberately no artifactType on the entry (skopeo 1.9 would refuse the push)
  assert_equal "$(jq 'has("artifactType")' <<<"$mpe")" false
  mp=$(blob "$d" "$(jq -r .digest <<<"$mpe")")
  assert_equal "$(jq -r .size <<<"$mpe")" "$(stat -c %s "$mp")"
  assert_equal "$(jq -r '[.schemaVersion, .mediaType, .artifactType, .config.mediaType] | join(" ")' "$mp")" \
    "2 application/vnd.oci.image.manifest.v1+json application/vnd.cncf.model.manifest.v1+json application/vnd.cncf.model.config.v1+json"
  # layers: the platform image's new layers, same digests and sizes, retyped
  amd=$(platform_doc "$d" "$idx" amd64)
  assert_equal "$(jq -c '[.layers[] | [.digest, .size]]' "$mp")" "$(jq -c '[.layers[1:][] | [.digest, .size]]' "$amd")"
  assert_equal "$(jq -c '[.layers[].mediaType] | unique' "$mp")" \
    '["application/vnd.cncf.model.doc.v1.tar+gzip","application/vnd.cncf.model.weight.v1.tar"]'
  assert_equal "$(jq -r '.layers[-1].mediaType' "$mp")" application/vnd.cncf.model.doc.v1.tar+gzip
  assert_equal "$(jq '[.layers[:-1][] | select(.mediaType != "application/vnd.cncf.model.weight.v1.tar")] | length' "$mp")" 0
  # config: modelfs.diffIds are the new layers' diff_ids, each sha256:…
  cfg=$(blob "$d" "$(jq -r .config.digest "$mp")")
  assert_equal "$(jq -r .config.size "$mp")" "$(stat -c %s "$cfg")"
  assert_equal "$(jq -c .modelfs.diffIds "$cfg")" "$(jq -c '.rootfs.diff_ids[1:]' "$(config_doc "$d" "$amd")")"
  assert_equal "$(jq '[.modelfs.diffIds[] | select(test("^sha256:[0-9a-f]{64}$") | not)] | length' "$cfg")" 0
  # the shared blobs are stored once
  run bash -c "tar -tf '$t' | sort | uniq -d"
  assert_output ''
}

@test "modelpack: the index pushes with skopeo --all --preserve-digests, and the registry serves the ModelPack manifest" {
  to_registry_via_fifo test/modelpack:1 --all --preserve-digests -- \
    olot_filter -i "$MA_TAR" --mtime "$MTIME" -m model -c model/README.md --add-modelpack
  [[ $producer_status == 0 ]] || fail "olot-filter exited $producer_status: $stderr"
  [[ $skopeo_status == 0 ]] || fail "skopeo copy exited $skopeo_status: $skopeo_log"
  extract "$BATS_TEST_TMPDIR/stream.tar" "$BATS_TEST_TMPDIR/o"
  local idx mp
  idx=$(root_doc "$BATS_TEST_TMPDIR/o")
  mp=$(jq -r '.manifests[] | select(.platform.os == "unknown") | .digest' "$idx")
  run -0 skopeo_ inspect --tls-verify=false --raw "docker://$REGISTRY/test/modelpack:1"
  assert_equal "$output" "$(cat "$idx")"
  run -0 skopeo_ inspect --tls-verify=false --raw "docker://$REGISTRY/test/modelpack@$mp"
  assert_equal "$output" "$(cat "$(blob "$BATS_TEST_TMPDIR/o" "$mp")")"
  assert_equal "$(jq -r .artifactType <<<"$output")" application/vnd.cncf.model.manifest.v1+json
}

@test "modelpack: a single-manifest layout is exit 64; a nested index gets one ModelPack, beside the platform manifests" {
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" -m model --add-modelpack
  assert_refused 64 "$BATS_TEST_TMPDIR/out.tar" --add-modelpack
  ok_filter "$BATS_FILE_TMPDIR/nested.tar" "$BATS_TEST_TMPDIR/n.tar" -m model --add-modelpack
  local d=$BATS_TEST_TMPDIR/n.tar.d f found=()
  for f in "$d"/blobs/sha256/*; do
    jq -e '.artifactType == "application/vnd.cncf.model.manifest.v1+json"' "$f" >/dev/null 2>&1 && found+=("sha256:${f##*/}")
  done
  assert_equal "${#found[@]}" 1
  # the index that holds the amd64 and arm64 manifests holds the ModelPack too
  for f in "$d"/blobs/sha256/*; do
    if jq -e '.manifests and ([.manifests[].platform.architecture] | index("amd64"))' "$f" >/dev/null 2>&1; then
      assert_equal "$(jq -r '.manifests[] | select(.platform.os == "unknown") | .digest' "$f")" "${found[0]}"
    fi
  done
}

# ================================================================ --pack-small, --compression

@test "layers: none, --pack-small, --compression gzip and both unpack with umoci to the same /models tree" {
  local o=$BATS_TEST_TMPDIR v ref=''
  local -a variants=("" "--pack-small 1024" "--compression gzip" "--pack-small 1024 --compression gzip")
  for ((v = 0; v < ${#variants[@]}; v++)); do
    # shellcheck disable=SC2086
    ok_filter "$BASE_TAR" "$o/v$v.tar" -m model -c model/README.md ${variants[v]}
    umoci_models "$o/v$v.tar.d" "$o/b$v"
    assert_models_match "$MODEL" "$o/b$v/rootfs/models"
    tree_listing "$o/b$v/rootfs/models" >"$o/tree$v"
    if ((v == 0)); then ref=$o/tree0; fi
    diff "$ref" "$o/tree$v" || fail "variant '${variants[v]}' unpacks to another tree"
  done
  # --pack-small really packed, gzip really compressed
  (($(jq '.layers | length' "$(root_doc "$o/v1.tar.d")") < $(jq '.layers | length' "$(root_doc "$o/v0.tar.d")")))
  assert_equal "$(jq -r '.layers[1].mediaType' "$(root_doc "$o/v2.tar.d")")" application/vnd.oci.image.layer.v1.tar+gzip
  # compression does not change the layer tars: the diff_ids are the same
  assert_equal "$(jq -c .rootfs.diff_ids "$(config_doc "$o/v2.tar.d" "$(root_doc "$o/v2.tar.d")")")" \
    "$(jq -c .rootfs.diff_ids "$(config_doc "$o/v0.tar.d" "$(root_doc "$o/v0.tar.d")")")"
  assert_equal "$(jq -c .rootfs.diff_ids "$(config_doc "$o/v3.tar.d" "$(root_doc "$o/v3.tar.d")")")" \
    "$(jq -c .rootfs.diff_ids "$(config_doc "$o/v1.tar.d" "$(root_doc "$o/v1.tar.d")")")"
}

@test "layers: --compression zstd (umoci 0.4.7 cannot unpack it): the decompressed layers are the uncompressed ones and extract to the same tree" {
  local o=$BATS_TEST_TMPDIR v
  ok_filter "$BASE_TAR" "$o/none.tar" -m model -c model/README.md
  extract_model_layers "$o/none.tar.d" "$(root_doc "$o/none.tar.d")" "$o/t-none"
  for v in "" "--pack-small 1024"; do
    # shellcheck disable=SC2086
    ok_filter "$BASE_TAR" "$o/z.tar" -m model -c model/README.md --compression zstd $v
    local man cfg i n d
    man=$(root_doc "$o/z.tar.d")
    cfg=$(config_doc "$o/z.tar.d" "$man")
    n=$(jq '.layers | length' "$man")
    for ((i = 1; i < n; i++)); do
      d=$(jq -r ".layers[$i].digest" "$man")
      assert_equal "$(uncompressed_digest "$(blob "$o/z.tar.d" "$d")")" "$(jq -r ".rootfs.diff_ids[$i]" "$cfg")"
    done
    assert_equal "$(jq '[.layers[1:-1][] | select(.mediaType != "application/vnd.oci.image.layer.v1.tar+zstd")] | length' "$man")" 0
    rm -rf "$o/t-zstd"
    extract_model_layers "$o/z.tar.d" "$man" "$o/t-zstd"
    diff <(tree_listing "$o/t-none") <(tree_listing "$o/t-zstd") || fail "zstd '$v' extracts to another tree"
    diff -r "$MODEL" "$o/t-zstd/models" || fail "zstd '$v' does not hold the model"
  done
  # without --pack-small the zstd layers' tars are the uncompressed run's layers
  ok_filter "$BASE_TAR" "$o/z.tar" -m model -c model/README.md --compression zstd
  assert_equal "$(jq -c .rootfs.diff_ids "$(config_doc "$o/z.tar.d" "$(root_doc "$o/z.tar.d")")")" \
    "$(jq -c .rootfs.diff_ids "$(config_doc "$o/none.tar.d" "$(root_doc "$o/none.tar.d")")")"
}

@test "layers: more than 125 layers warns once, suggesting --pack-small; 125 does not; --pack-small avoids it" {
  local m=$BATS_TEST_TMPDIR/many i
  mkdir -p "$m"
  for ((i = 1; i <= 124; i++)); do printf '%d\n' "$i" >"$m/f$(printf %03d "$i").txt"; done
  # 1 base layer + 124 = 125: no warning
  ok_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/a.tar" -m "$m"
  assert_equal "$(jq '.layers | length' "$(root_doc "$BATS_TEST_TMPDIR/a.tar.d")")" 125
  [[ $stderr != *warning* ]] || fail "125 layers warned: $stderr"
  # 126: one warning naming --pack-small, and the image is still written
  printf 'one more\n' >"$m/f125.txt"
  ok_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/b.tar" -m "$m"
  assert_equal "$(jq '.layers | length' "$(root_doc "$BATS_TEST_TMPDIR/b.tar.d")")" 126
  local w
  w=$(printf '%s\n' "${stderr_lines[@]}" | grep -c '^olot-filter: warning:' || true)
  assert_equal "$w" 1
  [[ $stderr == *"--pack-small"* ]] || fail "the warning does not suggest --pack-small: $stderr"
  ok_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/c.tar" -m "$m" --pack-small 4096
  assert_equal "$(jq '.layers | length' "$(root_doc "$BATS_TEST_TMPDIR/c.tar.d")")" 2
  [[ $stderr != *warning* ]] || fail "--pack-small still warned: $stderr"
}

# ================================================================ --platform

@test "--platform linux/amd64 keeps only amd64, drops arm64/v8 with a warning; skopeo sees one manifest" {
  local t=$BATS_TEST_TMPDIR/out.tar
  ok_filter "$MA_TAR" "$t" -m model --platform linux/amd64 --report "$BATS_TEST_TMPDIR/report.json"
  local idx ma=$BATS_FILE_TMPDIR/v/multiarch arm armcfg
  idx=$(root_doc "$t.d")
  arm=$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' "$(root_doc "$ma")")
  armcfg=$(jq -r .config.digest "$(blob "$ma" "$arm")")
  # the arm64 manifest and its config are gone, and the report says why
  [[ ! -e $(blob "$t.d" "$arm") && ! -e $(blob "$t.d" "$armcfg") ]] || fail "arm64 documents left in the output"
  assert_equal "$(jq -r --arg d "$arm" '.dropped[] | select(.digest == $d) | .reason' "$BATS_TEST_TMPDIR/report.json" | grep -c 'linux/arm64/v8')" 1
  assert_equal "$(jq -c '[.manifests[].platform]' "$idx")" '[{"architecture":"amd64","os":"linux"}]'
  assert_equal "$(printf '%s\n' "${stderr_lines[@]}" | grep -c '^olot-filter: warning:')" 1
  [[ $stderr == *linux/arm64/v8* ]] || fail "the warning does not name linux/arm64/v8: $stderr"
  # the kept image has the model; nothing of arm64 is left in the output (G7)
  assert_equal "$(jq 'length' <<<"$(model_descs "$(platform_doc "$t.d" "$idx" amd64)")")" "$(model_files "$MODEL" | wc -l)"
  run -0 skopeo_ inspect --raw "oci-archive:$t"
  assert_equal "$(jq '.manifests | length' <<<"$output")" 1
  run -0 skopeo_ inspect "oci-archive:$t"
  assert_equal "$(jq -r .Architecture <<<"$output")" amd64
  # and one asking for arm64 finds nothing
  run ! skopeo_ inspect --override-arch arm64 --override-variant v8 "oci-archive:$t"
  assert_output --partial 'no image found in image index for architecture arm64'
}

@test "--platform: linux/arm64 keeps the v8 variant; both platforms given is the same as none; the ModelPack entry is kept" {
  local o=$BATS_TEST_TMPDIR
  ok_filter "$MA_TAR" "$o/arm.tar" -m model --platform linux/arm64
  assert_equal "$(jq -c '[.manifests[].platform]' "$(root_doc "$o/arm.tar.d")")" '[{"architecture":"arm64","os":"linux","variant":"v8"}]'
  ok_filter "$MA_TAR" "$o/all.tar" -m model
  ok_filter "$MA_TAR" "$o/both.tar" -m model --platform linux/amd64 --platform linux/arm64/v8
  [[ $stderr != *warning* ]] || fail "keeping every platform warned: $stderr"
  cmp "$o/all.tar" "$o/both.tar" || fail "--platform with every platform changed the output"
  ok_filter "$MA_TAR" "$o/mp.tar" -m model --platform linux/amd64 --add-modelpack
  assert_equal "$(jq -c '[.manifests[].platform.architecture]' "$(root_doc "$o/mp.tar.d")")" '["amd64","unknown"]'
}

@test "--platform: an entry whose manifest is absent is exit 65 naming its platform; pruning it away succeeds" {
  local ma=$BATS_FILE_TMPDIR/v/multiarch arm armcfg
  arm=$(jq -r '.manifests[] | select(.platform.architecture == "arm64") | .digest' "$(root_doc "$ma")")
  armcfg=$(jq -r .config.digest "$(blob "$ma" "$arm")")
  # the layout with the arm64 image elided: neither its manifest nor its config
  drop_blobs "$ma" "$BATS_TEST_TMPDIR/in.tar" "$arm" "$armcfg"
  run_filter "$BATS_TEST_TMPDIR/in.tar" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" -m model
  assert_refused 65 "$BATS_TEST_TMPDIR/out.tar" linux/arm64 "$arm"
  ok_filter "$BATS_TEST_TMPDIR/in.tar" "$BATS_TEST_TMPDIR/ok.tar" -m model --platform linux/amd64
  assert_equal "$(jq -c '[.manifests[].platform.architecture]' "$(root_doc "$BATS_TEST_TMPDIR/ok.tar.d")")" '["amd64"]'
}

# ================================================================ --cache (§10)

# tails_model DIR — files whose sizes end at every offset that matters to a
# block hash (0, 1, 55, 56, 63, 64, 65 bytes into a block, tar-block and
# 1 MiB-read boundaries), and one behind a GNU long-name header.
tails_model() {
  local n
  mkdir -p "$1/sub"
  for n in 0 1 55 56 63 64 65 511 512 513 1048575 1048577 3000001; do head -c "$n" /dev/urandom >"$1/f$n"; done
  head -c 5000 /dev/urandom >"$1/sub/$(printf 'long%.0s' {1..40})"
}

# assert_layer_digests DIR — in the extracted output DIR (root entry 0 a
# manifest, model added from $TAILS): each model layer's content digest is
# sha256sum of its file, and its diff_id the sha256 of its tar.
assert_layer_digests() {
  local dir=$1 man cfg i n digest path
  man=$(root_doc "$dir")
  cfg=$(config_doc "$dir" "$man")
  n=$(jq '.layers | length' "$man")
  for ((i = n - $(model_files "$TAILS" | wc -l); i < n; i++)); do
    digest=$(jq -r ".layers[$i].digest" "$man")
    path=$(jq -r ".layers[$i].annotations[\"olot.layer.content.inlayerpath\"]" "$man")
    assert_equal "$(jq -r ".layers[$i].annotations[\"olot.layer.content.digest\"]" "$man")" "$(sha256_of "$TAILS/${path#/models/}")"
    assert_equal "$(jq -r ".rootfs.diff_ids[$i]" "$cfg")" "$(uncompressed_digest "$(blob "$dir" "$digest")")"
  done
}

@test "hashing: files of every tail length get sha256sum's digests, plain and gzip; pipes, -i/-o and one CPU give the same bytes" {
  local o=$BATS_TEST_TMPDIR
  TAILS=$o/tails
  tails_model "$TAILS"
  ok_filter "$BASE_TAR" "$o/plain.tar" -m "$TAILS"
  assert_layer_digests "$o/plain.tar.d"
  ok_filter "$BASE_TAR" "$o/gzip.tar" -m "$TAILS" --compression gzip
  assert_layer_digests "$o/gzip.tar.d"
  # The hashing workers, pipe buffers and output gathering must not show.
  cat "$BASE_TAR" | olot_filter --mtime "$MTIME" -m "$TAILS" | cat >"$o/piped.tar"
  cmp "$o/plain.tar" "$o/piped.tar" || fail "reading and writing pipes changed the output"
  olot_filter --mtime "$MTIME" -m "$TAILS" -i "$BASE_TAR" -o "$o/files.tar"
  cmp "$o/plain.tar" "$o/files.tar" || fail "-i and -o changed the output"
  command -v taskset >/dev/null || skip "taskset is not installed: the one-CPU run is not checked"
  taskset -c 0 "$OLOT_FILTER" --mtime "$MTIME" -m "$TAILS" <"$BASE_TAR" >"$o/one-cpu.tar"
  cmp "$o/plain.tar" "$o/one-cpu.tar" || fail "one CPU changed the output"
}

@test "cache: a cold and a warm cache give the bytes of a run without one; the warm run reads each model byte once" {
  local o=$BATS_TEST_TMPDIR c=$BATS_TEST_TMPDIR/cache/sub
  ok_filter "$BASE_TAR" "$o/nocache.tar" -m model -c model/README.md
  ok_filter "$BASE_TAR" "$o/cold.tar" -m model -c model/README.md --cache "$c"
  [[ -s $c/olot-filter-cache.v1 ]] || fail "no cache file in $c: $(ls -la "$c" 2>&1)"
  ok_filter "$BASE_TAR" "$o/warm.tar" -m model -c model/README.md --cache "$c"
  [[ $stderr != *warning* ]] || fail "the warm run warned: $stderr"
  cmp "$o/nocache.tar" "$o/cold.tar" || fail "the cold-cache run differs"
  cmp "$o/nocache.tar" "$o/warm.tar" || fail "the warm-cache run differs"
  command -v strace >/dev/null || skip "strace is not installed: the read count is not checked"
  mkdir -p "$o/st"
  timeout -k 5 "$CMD_TIMEOUT" strace -f -ff -y -qq -e trace=read,pread64,readv,preadv,preadv2 -o "$o/st/warm" \
    "$OLOT_FILTER" --mtime "$MTIME" -m model -c model/README.md --cache "$c" <"$BASE_TAR" >"$o/warm2.tar" 2>/dev/null
  cmp "$o/nocache.tar" "$o/warm2.tar" || fail "the traced warm run differs"
  timeout -k 5 "$CMD_TIMEOUT" strace -f -ff -y -qq -e trace=read,pread64,readv,preadv,preadv2 -o "$o/st/none" \
    "$OLOT_FILTER" --mtime "$MTIME" -m model -c model/README.md <"$BASE_TAR" >/dev/null 2>/dev/null
  local total=0 f warm none
  while IFS= read -r f; do total=$((total + $(stat -L -c %s "$MODEL/$f"))); done < <(model_files "$MODEL")
  warm=$(bytes_read_per_file "$o/st/warm" | awk -F'\t' '{s += $2} END {print s + 0}')
  none=$(bytes_read_per_file "$o/st/none" | awk -F'\t' '{s += $2} END {print s + 0}')
  assert_equal "$warm" "$total"
  ((none > warm)) || fail "without a cache $none bytes were read, with a warm one $warm"
}

@test "cache: a model file with changed content (same size, mtime put back) or a changed mtime is not served from the cache" {
  local o=$BATS_TEST_TMPDIR c=$BATS_TEST_TMPDIR/cache m=$BATS_TEST_TMPDIR/model
  cp -a "$MODEL" "$m"
  ok_filter "$BASE_TAR" "$o/first.tar" -m "$m" --cache "$c"
  local size0
  size0=$(stat -c %s "$c/olot-filter-cache.v1")
  # same size, same mtime, other bytes
  local w=$m/sub/nested/weights.bin
  touch -r "$w" "$o/stamp"
  "$PYTHON" -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[100]^=0xff; open(p,"wb").write(b)' "$w"
  touch -r "$o/stamp" "$w"
  ok_filter "$BASE_TAR" "$o/cached.tar" -m "$m" --cache "$c"
  ok_filter "$BASE_TAR" "$o/fresh.tar" -m "$m"
  cmp "$o/fresh.tar" "$o/cached.tar" || fail "the changed content was served from the cache"
  # the cache is in use: the changed file got an entry of its own
  (($(stat -c %s "$c/olot-filter-cache.v1") > size0)) || fail "the cache did not grow"
  ! cmp -s "$o/first.tar" "$o/cached.tar" || fail "the content change did not change the output"
  # an mtime before the epoch changes the layer header: not from the cache either
  touch -d @1600000000 "$m/config.json"
  ok_filter "$BASE_TAR" "$o/cached2.tar" -m "$m" --cache "$c"
  ok_filter "$BASE_TAR" "$o/fresh2.tar" -m "$m"
  cmp "$o/fresh2.tar" "$o/cached2.tar" || fail "the changed mtime was served from the cache"
  ! cmp -s "$o/cached.tar" "$o/cached2.tar" || fail "the mtime change did not change the output"
}

@test "cache: the layer options are part of the key: --compression, --prefix, --pack-small and --mtime with one cache" {
  local o=$BATS_TEST_TMPDIR c=$BATS_TEST_TMPDIR/cache opts
  ok_filter "$BASE_TAR" "$o/warmup.tar" -m model -c model/README.md --cache "$c"
  local size=0 new
  for opts in "--compression gzip" "--compression zstd" "--prefix /opt/m" "--pack-small 1024"; do
    size=$(stat -c %s "$c/olot-filter-cache.v1")
    # shellcheck disable=SC2086
    ok_filter "$BASE_TAR" "$o/cached.tar" -m model -c model/README.md --cache "$c" $opts
    # other layer bytes, other entries: the cache grew (--pack-small's
    # large files are the layers the warm-up already cached)
    new=$(stat -c %s "$c/olot-filter-cache.v1")
    [[ $opts == --pack-small* ]] || ((new > size)) || fail "with $opts the cache did not grow ($size -> $new bytes)"
    # shellcheck disable=SC2086
    ok_filter "$BASE_TAR" "$o/fresh.tar" -m model -c model/README.md $opts
    cmp "$o/fresh.tar" "$o/cached.tar" || fail "with $opts the cache served another layer"
  done
  # another epoch clamps the (later) file mtimes to another value
  run_filter "$BASE_TAR" "$o/cached.tar" --mtime 1600000000 -m model -c model/README.md --cache "$c"
  assert_ok
  run_filter "$BASE_TAR" "$o/fresh.tar" --mtime 1600000000 -m model -c model/README.md
  assert_ok
  cmp "$o/fresh.tar" "$o/cached.tar" || fail "with another --mtime the cache served another layer"
}

@test "cache: a corrupt cache file is one warning, and the run's output is the same; the next run is clean" {
  local o=$BATS_TEST_TMPDIR c=$BATS_TEST_TMPDIR/cache f kind
  ok_filter "$BASE_TAR" "$o/nocache.tar" -m model -c model/README.md
  ok_filter "$BASE_TAR" "$o/warm.tar" -m model -c model/README.md --cache "$c"
  f=$c/olot-filter-cache.v1
  cp "$f" "$o/good"
  for kind in truncated garbage flipped empty-lines binary; do
    case $kind in
      truncated) head -c $(($(stat -c %s "$o/good") / 2)) "$o/good" >"$f" ;;
      garbage) printf 'this is not a cache\n' >"$f" ;;
      flipped)
        # a well-formed record with another digest: only the checksum tells
        "$PYTHON" - "$o/good" "$f" <<'PY'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
fields = lines[1].split("\t")
fields[6] = "sha256:" + "0" * 64
lines[1] = "\t".join(fields)
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines))
PY
        cmp -s "$o/good" "$f" && fail "the flip changed nothing"
        ;;
      empty-lines) printf '\n\n\n' >"$f" ;;
      binary) head -c 4096 /dev/urandom >"$f" ;;
    esac
    run_filter "$BASE_TAR" "$o/$kind.tar" --mtime "$MTIME" -m model -c model/README.md --cache "$c"
    assert_ok
    assert_equal "$(printf '%s\n' "${stderr_lines[@]}" | grep -c '^olot-filter: warning:' || true)" 1
    cmp "$o/nocache.tar" "$o/$kind.tar" || fail "the run with a $kind cache differs"
    # the cache was rewritten: the next run neither warns nor differs
    run_filter "$BASE_TAR" "$o/$kind.next.tar" --mtime "$MTIME" -m model -c model/README.md --cache "$c"
    assert_ok
    [[ $stderr != *warning* ]] || fail "the run after a $kind cache warned: $stderr"
    cmp "$o/nocache.tar" "$o/$kind.next.tar" || fail "the run after a $kind cache differs"
  done
}

@test "cache: two copies of the model at other paths share one cache and each gets the uncached bytes" {
  local o=$BATS_TEST_TMPDIR c=$BATS_TEST_TMPDIR/cache
  cp -a "$MODEL" "$o/m1"
  cp -a "$MODEL" "$o/m2"
  touch -d @1600000000 "$o/m2/config.json"
  ok_filter "$BASE_TAR" "$o/ref1.tar" -m "$o/m1"
  ok_filter "$BASE_TAR" "$o/ref2.tar" -m "$o/m2"
  local i size=0
  for i in 1 2; do
    ok_filter "$BASE_TAR" "$o/c$i.tar" -m "$o/m$i" --cache "$c"
    cmp "$o/ref$i.tar" "$o/c$i.tar" || fail "copy $i through the shared cache differs"
    # each copy (other inodes) got entries of its own
    (($(stat -c %s "$c/olot-filter-cache.v1") > size)) || fail "copy $i added nothing to the cache"
    size=$(stat -c %s "$c/olot-filter-cache.v1")
  done
  # warm, in turn
  for i in 1 2; do
    ok_filter "$BASE_TAR" "$o/w$i.tar" -m "$o/m$i" --cache "$c"
    cmp "$o/ref$i.tar" "$o/w$i.tar" || fail "copy $i from the warm shared cache differs"
  done
}

@test "model file changed between the hashing and the writing pass (during a stalled input): exit 65, no index.json" {
  # The first pass hashes the file while the input streams; the layers are
  # written after the input ends.  The input stalls for 3 s; the file is
  # changed 1.5 s in, long after a 100 KB file was hashed.
  local o=$BATS_TEST_TMPDIR how pid
  for how in flip append; do
    mkdir -p "$o/$how"
    head -c 100000 /dev/urandom >"$o/$how/w.bin"
    ( "$SLOWCAT" "$BASE_TAR" 3 | olot_filter --mtime "$MTIME" -m "$o/$how/w.bin" >"$o/$how.out" 2>"$o/$how.err" ) &
    pid=$!
    sleep 1.5
    case $how in
      flip) "$PYTHON" -c 'import sys; f=open(sys.argv[1],"r+b"); f.seek(5); b=f.read(1); f.seek(5); f.write(bytes([b[0]^1]))' "$o/$how/w.bin" ;;
      append) printf 'more' >>"$o/$how/w.bin" ;;
    esac
    status=0
    wait "$pid" || status=$?
    stderr=$(cat "$o/$how.err")
    mapfile -t stderr_lines <"$o/$how.err"
    assert_refused 65 "$o/$how.out" "$o/$how/w.bin"
  done
}
