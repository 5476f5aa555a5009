#!/usr/bin/env bats
# The fixtures are what they claim to be, checked with the real tools
# (umoci, skopeo, GNU tar): a test on a broken fixture proves nothing.
# These do not run olot-filter.

load helpers

setup_file() {
  build_base "$BATS_FILE_TMPDIR/base"
  "$PYTHON" "$FIXTURES/mkvariants.py" "$BATS_FILE_TMPDIR/base/layout" "$BATS_FILE_TMPDIR/v"
  "$FIXTURES/mkmodel.sh" "$BATS_FILE_TMPDIR/model"
}

setup() {
  V=$BATS_FILE_TMPDIR/v
}

@test "fixture: the umoci base unpacks with umoci and holds busybox" {
  run timeout 60 umoci unpack --rootless --image "$BATS_FILE_TMPDIR/base/layout:latest" "$BATS_TEST_TMPDIR/bundle"
  assert_success
  cmp /bin/busybox "$BATS_TEST_TMPDIR/bundle/rootfs/bin/busybox"
  [[ $(readlink "$BATS_TEST_TMPDIR/bundle/rootfs/bin/sh") == busybox ]]
  run "$PYTHON" "$OCICHECK" graph --any-order "$BATS_FILE_TMPDIR/base/base.tar"
  assert_success
  # one layer entry and one empty_layer entry in the history
  local m cfg
  m=$(blob "$BATS_FILE_TMPDIR/base/layout" "$(jq -r '.manifests[0].digest' "$BATS_FILE_TMPDIR/base/layout/index.json")")
  cfg=$(blob "$BATS_FILE_TMPDIR/base/layout" "$(jq -r .config.digest "$m")")
  assert_equal "$(jq -c '[.history[] | .empty_layer // false]' "$cfg")" '[false,true]'
}

@test "fixture: the OCI variants are valid layouts that skopeo reads" {
  local v
  for v in multiarch nested twotags nohistory docker-single; do
    tar -C "$V/$v" -cf "$BATS_TEST_TMPDIR/$v.tar" .
  done
  for v in multiarch nested twotags; do
    run "$PYTHON" "$OCICHECK" graph --any-order "$BATS_TEST_TMPDIR/$v.tar"
    assert_success
    run skopeo_ inspect --raw "oci-archive:$BATS_TEST_TMPDIR/$v.tar:latest"
    assert_success
  done
  run skopeo_ inspect --raw "oci-archive:$BATS_TEST_TMPDIR/twotags.tar:v1"
  assert_success
  # nohistory really has no history: the checker sees the count mismatch
  run "$PYTHON" "$OCICHECK" graph --any-order "$BATS_TEST_TMPDIR/nohistory.tar"
  assert_failure
  assert_output --partial '0 non-empty history entries'
}

@test "fixture: the Docker-typed variant is what skopeo cannot read without conversion" {
  tar -C "$V/docker" -cf "$BATS_TEST_TMPDIR/docker.tar" .
  run skopeo_ inspect --raw "oci-archive:$BATS_TEST_TMPDIR/docker.tar:latest"
  assert_failure
  run "$PYTHON" "$OCICHECK" graph --any-order "$BATS_TEST_TMPDIR/docker.tar"
  assert_failure
  assert_output --partial 'Docker media type application/vnd.docker.distribution.manifest.list.v2+json'
}

@test "fixture: each tar flavour is the layout it says, readable by skopeo" {
  local f l=$V/multiarch t
  for f in gnu-dot noprefix-nodirs index-first index-last pax ustar gnu python parents-first; do
    t=$BATS_TEST_TMPDIR/$f.tar
    "$FIXTURES/tarit.sh" "$f" "$l" "$t"
    run "$PYTHON" "$OCICHECK" graph --any-order "$t"
    assert_success
    run skopeo_ inspect --raw "oci-archive:$t:latest"
    assert_success
  done
  assert_equal "$(tar -tf "$BATS_TEST_TMPDIR/gnu-dot.tar" | head -1)" ./
  assert_equal "$(tar -tvf "$BATS_TEST_TMPDIR/noprefix-nodirs.tar" | grep -c '^d' || true)" 0
  assert_equal "$(tar -tf "$BATS_TEST_TMPDIR/index-first.tar" | head -1)" index.json
  assert_equal "$(tar -tf "$BATS_TEST_TMPDIR/index-last.tar" | tail -1)" ./index.json
  # header magics: pax writes 'x' records, ustar is POSIX, gnu is GNU
  assert_equal "$(xxd -s 156 -l 1 -p "$BATS_TEST_TMPDIR/pax.tar")" 78
  assert_equal "$(xxd -s 257 -l 8 -p "$BATS_TEST_TMPDIR/ustar.tar")" 7573746172003030
  assert_equal "$(xxd -s 257 -l 8 -p "$BATS_TEST_TMPDIR/gnu.tar")" 7573746172202000
}

@test "fixture: the model directory has its awkward cases" {
  local m=$BATS_FILE_TMPDIR/model
  [[ -L $m/link-to-weights.bin && $(readlink "$m/link-to-weights.bin") == sub/nested/weights.bin ]]
  [[ -f $m/empty.txt && ! -s $m/empty.txt ]]
  [[ -s "$m/special tokens – ünïcødé 模型.txt" ]]
  [[ $(stat -c %s "$m/sub/nested/weights.bin") -ge 4096 ]]
  grep -q '^# ' "$m/README.md"
  # binary: NUL bytes present
  [[ $(tr -cd '\0' <"$m/sub/nested/weights.bin" | wc -c) -gt 0 ]]
}

@test "fixture: every refusal case is built, and the control case is a valid layout" {
  local c
  for c in $("$PYTHON" "$FIXTURES/mkbad.py" --list); do
    "$PYTHON" "$FIXTURES/mkbad.py" "$BATS_FILE_TMPDIR/base/layout" "$c" "$BATS_TEST_TMPDIR/$c.tar" >/dev/null
    [[ -f $BATS_TEST_TMPDIR/$c.tar ]] || fail "mkbad.py $c wrote nothing"
  done
  run "$PYTHON" "$OCICHECK" graph --any-order "$BATS_TEST_TMPDIR/control.tar"
  assert_success
  run skopeo_ inspect --raw "oci-archive:$BATS_TEST_TMPDIR/control.tar:latest"
  assert_success
  # the faulty ones are faulty for a real consumer too
  run skopeo_ inspect --raw "oci-archive:$BATS_TEST_TMPDIR/missing-manifest.tar:latest"
  assert_failure
  run tar -tf "$BATS_TEST_TMPDIR/truncated.tar"
  assert_failure
}
