#!/usr/bin/env bats
# Command line, exit statuses and the stdout contract (SPEC §2, §9, §10).

load helpers

setup_file() {
  require_binary
  build_base "$BATS_FILE_TMPDIR/base"
  "$FIXTURES/mkmodel.sh" "$BATS_FILE_TMPDIR/model"
}

setup() {
  BASE_TAR=$BATS_FILE_TMPDIR/base/base.tar
  cd "$BATS_FILE_TMPDIR"
}

@test "cli: an unknown option is a usage error (64), one line on stderr, nothing on stdout" {
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/out" --no-such-option
  assert_equal "$status" 64
  assert_equal "${#stderr_lines[@]}" 1
  [[ ${stderr_lines[0]} == "olot-filter: "* ]] || fail "stderr: $stderr"
  [[ ${stderr_lines[0]} == *--no-such-option* ]] || fail "stderr does not name the option: $stderr"
  [[ ! -s $BATS_TEST_TMPDIR/out ]] || fail "stdout is not empty"
}

@test "cli: --help names every option of SPEC §2 and exits 0" {
  run -0 olot_filter --help
  local o
  for o in --model --modelcard --prefix --exclude --include-vcs --pack-small --label --annotation \
    --add-modelpack --ref --platform --tag --mtime --compression --no-convert --no-verify \
    --allow-missing-blobs --max-json-size --input --output --digest-file --report --cache \
    --dry-run --progress --no-progress --verbose --quiet --help --version; do
    [[ $output == *"$o"* ]] || fail "--help does not mention $o"
  done
  [[ $output == *"-m,"* || $output == *"-m "* ]] || fail "--help does not mention -m"
  [[ $output == *"-c,"* || $output == *"-c "* ]] || fail "--help does not mention -c"
}

@test "cli: --version prints the name and exits 0" {
  run -0 olot_filter --version
  assert_output --regexp '^olot-filter [0-9]'
}

@test "cli: a missing model path exits 66 naming it, and writes no index.json" {
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" --model no/such/model.bin
  assert_refused 66 "$BATS_TEST_TMPDIR/out.tar" no/such/model.bin
}

@test "cli: a dangling symlink in the model directory exits 66 naming it" {
  local m=$BATS_TEST_TMPDIR/model
  cp -a "$BATS_FILE_TMPDIR/model" "$m"
  ln -s does-not-exist "$m/dangling.bin"
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" --model "$m"
  assert_refused 66 "$BATS_TEST_TMPDIR/out.tar" dangling.bin
}

@test "cli: two model files landing on the same in-image path is a usage error (64)" {
  mkdir -p "$BATS_TEST_TMPDIR/a" "$BATS_TEST_TMPDIR/b"
  echo a >"$BATS_TEST_TMPDIR/a/w.bin"
  echo b >"$BATS_TEST_TMPDIR/b/w.bin"
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/out.tar" --mtime "$MTIME" \
    --model "$BATS_TEST_TMPDIR/a/w.bin" --model "$BATS_TEST_TMPDIR/b/w.bin"
  assert_refused 64 "$BATS_TEST_TMPDIR/out.tar" w.bin
}

@test "cli: stdout carries nothing but the tar, even with -v and --progress" {
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/quiet.tar" --mtime "$MTIME" --model model --modelcard model/README.md -q
  assert_ok
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/loud.tar" --mtime "$MTIME" --model model --modelcard model/README.md -v --progress
  # (progress lines may carry terminal control codes: only stdout matters here)
  [[ $status == 0 ]] || fail "exit $status: $stderr"
  # hygiene: the tar parses from its first byte and has only zero padding after its end
  check_output "$BATS_TEST_TMPDIR/loud.tar"
  run cmp "$BATS_TEST_TMPDIR/quiet.tar" "$BATS_TEST_TMPDIR/loud.tar"
  assert_success
}

@test "cli: a closed stdout (| head -c 1000) exits 74, not a SIGPIPE death" {
  local rc
  set +e
  olot_filter --mtime "$MTIME" --model model <"$BASE_TAR" 2>"$BATS_TEST_TMPDIR/stderr" | head -c 1000 >/dev/null
  rc=("${PIPESTATUS[@]}")
  set -e
  assert_equal "${rc[0]}" 74
  run cat "$BATS_TEST_TMPDIR/stderr"
  assert_line --regexp '^olot-filter: '
}

@test "cli: a closed stdout exits 74 even when SIGPIPE is not ignored" {
  # Python restores SIGPIPE to its default in the child: a writer that does
  # not handle it dies of the signal (returncode -13) instead of exiting 74.
  run "$PYTHON" - "$OLOT_FILTER" "$BASE_TAR" <<'PY'
import subprocess, sys
binary, base = sys.argv[1], sys.argv[2]
with open(base, "rb") as stdin:
    p = subprocess.Popen([binary, "--mtime", "1700000000", "--model", "model"],
                         stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         restore_signals=True)
    p.stdout.read(1000)
    p.stdout.close()
    err = p.stderr.read().decode(errors="replace")
    rc = p.wait(timeout=60)
print(rc)
print(err, end="")
PY
  assert_success
  assert_line --index 0 74
  assert_line --index 1 --regexp '^olot-filter: '
}

@test "cli: SOURCE_DATE_EPOCH gives the same bytes as --mtime" {
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/a.tar" --mtime "$MTIME" --model model --modelcard model/README.md
  assert_ok
  check_output "$BATS_TEST_TMPDIR/a.tar"
  SOURCE_DATE_EPOCH=$MTIME run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/b.tar" --model model --modelcard model/README.md
  assert_ok
  # the model was added, stamped with the epoch
  extract "$BATS_TEST_TMPDIR/b.tar" "$BATS_TEST_TMPDIR/b"
  local man cfg
  man=$(blob "$BATS_TEST_TMPDIR/b" "$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/b/index.json")")
  cfg=$(blob "$BATS_TEST_TMPDIR/b" "$(jq -r .config.digest "$man")")
  assert_equal "$(jq '.layers | length' "$man")" $((1 + $(model_files model | wc -l)))
  assert_equal "$(jq -r '.created | sub("\\.0+Z$"; "Z") | fromdateiso8601' "$cfg")" "$MTIME"
  run cmp "$BATS_TEST_TMPDIR/a.tar" "$BATS_TEST_TMPDIR/b.tar"
  assert_success
}

@test "cli: file mtimes later than --mtime do not change the output; earlier ones are kept" {
  local m=$BATS_TEST_TMPDIR/model
  cp -a "$BATS_FILE_TMPDIR/model" "$m"
  find "$m" -exec touch -h -d @$((MTIME + 1000)) {} +
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/a.tar" --mtime "$MTIME" --model "$m"
  assert_ok
  find "$m" -exec touch -h -d @$((MTIME + 99999)) {} +
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/b.tar" --mtime "$MTIME" --model "$m"
  assert_ok
  run cmp "$BATS_TEST_TMPDIR/a.tar" "$BATS_TEST_TMPDIR/b.tar"
  assert_success
  # an older file keeps its own mtime in the layer header
  touch -d @1600000000 "$m/config.json"
  run_filter "$BASE_TAR" "$BATS_TEST_TMPDIR/c.tar" --mtime "$MTIME" --model "$m"
  assert_ok
  extract "$BATS_TEST_TMPDIR/c.tar" "$BATS_TEST_TMPDIR/c"
  local man layer
  man=$(blob "$BATS_TEST_TMPDIR/c" "$(jq -r '.manifests[0].digest' "$BATS_TEST_TMPDIR/c/index.json")")
  layer=$(jq -r '.layers[] | select(.annotations["olot.layer.content.inlayerpath"] == "/models/config.json") | .digest' "$man")
  [[ -n $layer ]] || fail "no layer for /models/config.json"
  run "$PYTHON" "$OCICHECK" layer "$(blob "$BATS_TEST_TMPDIR/c" "$layer")"
  assert_success
  assert_equal "$(jq -r '.[] | select(.name == "models/config.json") | .mtime' <<<"$output")" 1600000000
}

@test "cli: -o through a symlink (like /dev/stdout to a file) writes the target and keeps the link" {
  local d=$BATS_TEST_TMPDIR
  : >"$d/real.tar"
  ln -s real.tar "$d/link.tar"
  run olot_filter -q --mtime "$MTIME" -o "$d/link.tar" -i "$BASE_TAR"
  assert_equal "$status" 0
  [[ -L $d/link.tar ]] || fail "the symlink was replaced"
  [[ $(tar -tf "$d/real.tar" | tail -n 1) == index.json ]] || fail "the target holds no complete layout"
  cmp <(olot_filter -q --mtime "$MTIME" -i "$BASE_TAR") "$d/real.tar"
  [[ -z $(find "$d" -name '*.olot-tmp.*') ]] || fail "a temporary file was left"
  # /dev/stdout redirected to a file: the file gets the tar, /dev/stdout stays a link.
  olot_filter -q --mtime "$MTIME" -o /dev/stdout -i "$BASE_TAR" >"$d/via-stdout.tar"
  cmp "$d/real.tar" "$d/via-stdout.tar"
  [[ -L /dev/stdout ]]
}
