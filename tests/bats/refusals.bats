#!/usr/bin/env bats
# Refused inputs (SPEC §3, §9): each is the valid umoci base with one fault
# (tests/fixtures/mkbad.py).  Every refusal must exit 65 with one stderr
# line "olot-filter: …" naming the entry, and must not write index.json, so
# a consumer of the partial output sees a broken archive.

load helpers

setup_file() {
  require_binary
  build_base "$BATS_FILE_TMPDIR/base"
  "$FIXTURES/mkmodel.sh" "$BATS_FILE_TMPDIR/model"
  mkdir -p "$BATS_FILE_TMPDIR/bad"
  local c
  for c in $("$PYTHON" "$FIXTURES/mkbad.py" --list); do
    "$PYTHON" "$FIXTURES/mkbad.py" "$BATS_FILE_TMPDIR/base/layout" "$c" "$BATS_FILE_TMPDIR/bad/$c.tar" \
      >"$BATS_FILE_TMPDIR/bad/$c.name"
  done
}

setup() {
  cd "$BATS_FILE_TMPDIR"
}

# refused CASE [NEEDLE...] — run olot-filter (with a model, so a success
# would add layers) on bad/CASE.tar and check the refusal; the entry that
# mkbad.py says is at fault must be named, and every NEEDLE too.
refused() {
  local c=$1 named
  shift
  named=$(cat "$BATS_FILE_TMPDIR/bad/$c.name")
  run_filter "$BATS_FILE_TMPDIR/bad/$c.tar" "$BATS_TEST_TMPDIR/out.tar" \
    --mtime "$MTIME" --model model --modelcard model/README.md
  assert_refused 65 "$BATS_TEST_TMPDIR/out.tar" ${named:+"$named"} "$@"
}

@test "refused: absolute entry name" {
  refused absolute
}

@test "refused: entry name with .." {
  refused dotdot
}

@test "refused: symlink entry" {
  refused symlink
}

@test "refused: hardlink entry" {
  refused hardlink
}

@test "refused: character device entry" {
  refused chardev
}

@test "refused: duplicate names index.json and ./index.json" {
  refused duplicate
}

@test "refused: blob under an unknown algorithm directory (blobs/md5/…)" {
  refused bad-alg
}

@test "refused: blob name with the wrong hex length" {
  refused bad-hexlen
}

@test "refused: blob name in uppercase hex" {
  refused uppercase-hex
}

@test "refused: blob content does not match its name" {
  refused digest-mismatch
}

@test "refused: no index.json" {
  refused missing-index
}

@test "refused: malformed index.json" {
  refused malformed-index
}

@test "refused: malformed oci-layout" {
  refused malformed-oci-layout
}

@test "refused: index.json with \"manifests\": null" {
  refused manifests-null
}

@test "refused: the manifest index.json names is missing (message names the digest)" {
  refused missing-manifest
}

@test "refused: truncated tar (cut inside a layer blob)" {
  refused truncated
}

@test "refused: not a tar" {
  refused not-a-tar
}

@test "refused: empty input" {
  refused empty
}

@test "refused: legacy docker save archive, with the skopeo docker-archive: recipe" {
  refused legacy-docker "skopeo copy docker-archive:"
}

@test "refused: with --output no file is left behind" {
  mkdir "$BATS_TEST_TMPDIR/outdir"
  run_filter "$BATS_FILE_TMPDIR/bad/digest-mismatch.tar" /dev/null \
    --mtime "$MTIME" --model model -o "$BATS_TEST_TMPDIR/outdir/out.tar"
  assert_equal "$status" 65
  run ls -A "$BATS_TEST_TMPDIR/outdir"
  assert_output ''
}

@test "refused: control: the same writer without a fault is accepted" {
  run_filter "$BATS_FILE_TMPDIR/bad/control.tar" "$BATS_TEST_TMPDIR/out.tar" \
    --mtime "$MTIME" --model model --modelcard model/README.md
  assert_ok
  check_output "$BATS_TEST_TMPDIR/out.tar"
}
