#!/usr/bin/env bats
# The same layout in every tar flavour a user may hand over (SPEC §3): GNU
# tar with ./ names and directory entries, plain names without directories,
# index.json first or last, pax, ustar, GNU, Python tarfile, documents
# before what they reference, gzip and zstd compressed.  Each must give the same image: the same index.json and the
# same set of blobs as the reference (GNU tar `tar -C layout -cf - .`).

load helpers

setup_file() {
  require_binary
  build_base "$BATS_FILE_TMPDIR/base"
  "$PYTHON" "$FIXTURES/mkvariants.py" "$BATS_FILE_TMPDIR/base/layout" "$BATS_FILE_TMPDIR/v"
  "$FIXTURES/mkmodel.sh" "$BATS_FILE_TMPDIR/model"
}

setup() {
  cd "$BATS_FILE_TMPDIR"
  LAYOUT=$BATS_FILE_TMPDIR/v/multiarch
}

# reference — the output for the gnu-dot flavour, made once.
reference() {
  REF=$BATS_FILE_TMPDIR/ref.tar
  if [[ ! -f $REF ]]; then
    "$FIXTURES/tarit.sh" gnu-dot "$LAYOUT" "$BATS_FILE_TMPDIR/ref.in.tar"
    olot_filter --mtime "$MTIME" --model model --modelcard model/README.md \
      <"$BATS_FILE_TMPDIR/ref.in.tar" >"$REF.part" 2>"$BATS_FILE_TMPDIR/ref.stderr" ||
      fail "reference run failed: $(cat "$BATS_FILE_TMPDIR/ref.stderr")"
    mv "$REF.part" "$REF"
  fi
}

# same_image_as_reference OUT — same index.json, same blob names, each valid.
same_image_as_reference() {
  reference
  check_output "$1"
  assert_equal "$(tar -xOf "$1" index.json)" "$(tar -xOf "$REF" index.json)"
  assert_equal "$(tar -tf "$1" | grep '^blobs/sha256/.' | sort)" "$(tar -tf "$REF" | grep '^blobs/sha256/.' | sort)"
}

# flavour_case FLAVOUR — tar the layout as FLAVOUR, filter, compare.
flavour_case() {
  local in=$BATS_TEST_TMPDIR/in.tar
  "$FIXTURES/tarit.sh" "$1" "$LAYOUT" "$in"
  run_filter "$in" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" --model model --modelcard model/README.md
  assert_ok
  same_image_as_reference "$BATS_TEST_TMPDIR/out.tar"
}

@test "input: GNU tar with ./ names and ./ directory entries (tar -C L -cf - .)" {
  "$FIXTURES/tarit.sh" gnu-dot "$LAYOUT" "$BATS_TEST_TMPDIR/in.tar"
  assert_equal "$(tar -tf "$BATS_TEST_TMPDIR/in.tar" | head -1)" ./
  flavour_case gnu-dot
  run bash -c "tar -tf '$BATS_TEST_TMPDIR/out.tar' | grep -c '^\./'"
  assert_output 0
}

@test "input: no ./ prefix and no directory entries" {
  flavour_case noprefix-nodirs
}

@test "input: index.json first" {
  "$FIXTURES/tarit.sh" index-first "$LAYOUT" "$BATS_TEST_TMPDIR/in.tar"
  assert_equal "$(tar -tf "$BATS_TEST_TMPDIR/in.tar" | head -1)" index.json
  flavour_case index-first
}

@test "input: index.json last, after every blob" {
  "$FIXTURES/tarit.sh" index-last "$LAYOUT" "$BATS_TEST_TMPDIR/in.tar"
  assert_equal "$(tar -tf "$BATS_TEST_TMPDIR/in.tar" | tail -1)" ./index.json
  flavour_case index-last
}

@test "input: pax format (tar --format=pax)" {
  flavour_case pax
}

@test "input: ustar format (tar --format=ustar)" {
  flavour_case ustar
}

@test "input: GNU format (tar --format=gnu)" {
  flavour_case gnu
}

@test "input: Python tarfile (PAX, sorted, mtime 0)" {
  flavour_case python
}

@test "input: every document before what it references (index, then manifests, then configs and layers)" {
  flavour_case parents-first
}

@test "input: gzip-compressed layout tar gives the same output as the plain one" {
  reference
  tar -C "$LAYOUT" -cf - . | gzip -n >"$BATS_TEST_TMPDIR/in.tar.gz"
  run_filter "$BATS_TEST_TMPDIR/in.tar.gz" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" --model model --modelcard model/README.md
  assert_ok
  run cmp "$BATS_TEST_TMPDIR/out.tar" "$REF"
  assert_success
}

@test "input: zstd-compressed layout tar gives the same output as the plain one" {
  reference
  tar -C "$LAYOUT" -cf - . | zstd -q -c >"$BATS_TEST_TMPDIR/in.tar.zst"
  run_filter "$BATS_TEST_TMPDIR/in.tar.zst" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" --model model --modelcard model/README.md
  assert_ok
  run cmp "$BATS_TEST_TMPDIR/out.tar" "$REF"
  assert_success
}

@test "input: the output is a pure function of the input (two runs, same bytes)" {
  reference
  "$FIXTURES/tarit.sh" gnu-dot "$LAYOUT" "$BATS_TEST_TMPDIR/in.tar"
  run_filter "$BATS_TEST_TMPDIR/in.tar" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" --model model --modelcard model/README.md
  assert_ok
  run cmp "$BATS_TEST_TMPDIR/out.tar" "$REF"
  assert_success
}

@test "input: a layout without oci-layout is accepted with a warning and gets a fresh one" {
  local in=$BATS_TEST_TMPDIR/in.tar
  (cd "$LAYOUT" && tar --no-recursion -cf "$in" index.json $(find blobs -type f))
  run bash -c "tar -tf '$in' | grep -c oci-layout"
  assert_output 0
  run_filter "$in" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" --model model --modelcard model/README.md
  assert_ok
  run printf '%s\n' "${stderr_lines[@]}"
  assert_line --regexp '^olot-filter: warning: .*oci-layout'
  same_image_as_reference "$BATS_TEST_TMPDIR/out.tar"
}

@test "input: no model: a pure pass-through keeps every blob and index.json, documents in dependency order" {
  # parents-first: the input has every document before the blobs it
  # references; the output must not (SPEC §8: JSON documents in dependency order)
  "$FIXTURES/tarit.sh" parents-first "$LAYOUT" "$BATS_TEST_TMPDIR/in.tar"
  run_filter "$BATS_TEST_TMPDIR/in.tar" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME"
  assert_ok
  check_output "$BATS_TEST_TMPDIR/out.tar"
  assert_equal "$(tar -xOf "$BATS_TEST_TMPDIR/out.tar" index.json)" "$(cat "$LAYOUT/index.json")"
  local f
  for f in "$LAYOUT"/blobs/sha256/*; do
    run cmp "$f" <(tar -xOf "$BATS_TEST_TMPDIR/out.tar" "blobs/sha256/${f##*/}")
    assert_success
  done
  assert_equal "$(tar -tf "$BATS_TEST_TMPDIR/out.tar" | grep -c '^blobs/sha256/.')" "$(ls "$LAYOUT/blobs/sha256" | wc -l)"
}
