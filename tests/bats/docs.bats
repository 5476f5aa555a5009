#!/usr/bin/env bats
# The documentation keeps up with the binary: every long option that
# `olot-filter --help` lists is documented in man/olot-filter.1 and in
# README.md, nothing documented there is missing from --help, and --help and
# --version behave.
#
#   OLOT_FILTER=$PWD/build/olot-filter bats tests/bats/docs.bats
#
# Self-contained: needs only bats-core (no helpers, no network, no fixtures).

bats_require_minimum_version 1.5.0

setup_file() {
  REPO_DIR=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
  export REPO_DIR
  : "${OLOT_FILTER:=$REPO_DIR/build/olot-filter}"
  export OLOT_FILTER
  export MAN_PAGE=$REPO_DIR/man/olot-filter.1
  export README=$REPO_DIR/README.md
}

setup() {
  [[ -x $OLOT_FILTER ]] || {
    echo "OLOT_FILTER=$OLOT_FILTER is not an executable (run make first)" >&2
    return 1
  }
}

# The long options --help lists, one per line, without the leading "--".
help_long_options() {
  "$OLOT_FILTER" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u
}

# Pairs "x name" for the short options --help lists as "-x [ --name ]".
help_short_options() {
  "$OLOT_FILTER" --help | sed -nE 's/^ *-([A-Za-z]) \[ --([a-z][a-z0-9-]*) \].*/\1 \2/p'
}

# The man page with roff's escaped hyphens (\-) turned into plain ones.
man_text() {
  sed 's/\\-/-/g' "$MAN_PAGE"
}

# Only the OPTIONS section of the man page.
man_options_section() {
  man_text | sed -n '/^\.SH OPTIONS/,/^\.SH /p'
}

# Only the "## Options" section of the README.
readme_options_section() {
  sed -n '/^## Options/,/^## /p' "$README"
}

# contains_option NAME: stdin mentions --NAME as a whole option name (so that
# --model is not satisfied by --modelcard).
contains_option() {
  grep -qE -- "--$1([^a-z0-9-]|\$)"
}

@test "--help exits 0 and writes the usage to stdout, nothing to stderr" {
  run --separate-stderr "$OLOT_FILTER" --help
  [ "$status" -eq 0 ]
  [[ $output == usage:\ olot-filter* ]]
  [[ $output == *--model* ]]
  [ -z "$stderr" ]
  run --separate-stderr "$OLOT_FILTER" -h
  [ "$status" -eq 0 ]
  [[ $output == usage:\ olot-filter* ]]
}

@test "--version exits 0 and prints a version on stdout" {
  run --separate-stderr "$OLOT_FILTER" --version
  [ "$status" -eq 0 ]
  [[ $output =~ ^olot-filter\ [0-9]+\.[0-9]+(\.[0-9]+)?([-+~][0-9A-Za-z.]+)?$ ]]
  [ -z "$stderr" ]
  run --separate-stderr "$OLOT_FILTER" -V
  [ "$status" -eq 0 ]
  [[ $output =~ ^olot-filter\ [0-9] ]]
}

@test "--help lists the options it is expected to (sanity check of the parsing below)" {
  run help_long_options
  [ "$status" -eq 0 ]
  [ "${#lines[@]}" -ge 20 ]
  for o in model modelcard prefix output version help; do
    printf '%s\n' "${lines[@]}" | grep -qx -- "$o" || {
      echo "--$o not found in --help" >&2
      return 1
    }
  done
  run help_short_options
  [ "${#lines[@]}" -ge 6 ]
}

@test "man page renders without warnings" {
  command -v groff >/dev/null || skip "groff not installed"
  run groff -t -man -ww -z "$MAN_PAGE"
  [ "$status" -eq 0 ]
  [ -z "$output" ]
}

@test "every long option of --help is in the man page's OPTIONS section" {
  local missing=() o
  while read -r o; do
    man_options_section | contains_option "$o" || missing+=("--$o")
  done < <(help_long_options)
  if ((${#missing[@]})); then
    echo "missing from $MAN_PAGE (write them as \\-\\-name): ${missing[*]}" >&2
    return 1
  fi
}

@test "every long option of --help is in README.md's Options section" {
  local missing=() o
  while read -r o; do
    readme_options_section | contains_option "$o" || missing+=("--$o")
  done < <(help_long_options)
  if ((${#missing[@]})); then
    echo "missing from the Options section of $README: ${missing[*]}" >&2
    return 1
  fi
}

@test "every short option of --help is documented next to its long option" {
  local missing=() s o
  while read -r s o; do
    # man: a .TP header such as  .BR \-m ", " \-\-model " \fIPATH\fR"
    man_options_section | grep -E -- "(^|[^a-z0-9-])-$s([^A-Za-z0-9-]|\$)" | contains_option "$o" ||
      missing+=("man: -$s/--$o")
    # README: a table row such as  | `-m, --model PATH` | ...
    readme_options_section | grep -E -- "-$s, --$o([^a-z0-9-]|\$)" >/dev/null ||
      missing+=("README: -$s, --$o")
  done < <(help_short_options)
  if ((${#missing[@]})); then
    echo "short options not documented with their long form: ${missing[*]}" >&2
    return 1
  fi
}

@test "every option the man page documents exists in --help" {
  local known stale=() o
  known=$(help_long_options)
  # The option headers: the line after each .TP in the OPTIONS section.
  while read -r o; do
    grep -qx -- "$o" <<<"$known" || stale+=("--$o")
  done < <(man_options_section | sed -n '/^\.TP/{n;p}' | grep -oE -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u)
  if ((${#stale[@]})); then
    echo "documented in $MAN_PAGE but unknown to --help: ${stale[*]}" >&2
    return 1
  fi
}

@test "every option README.md's Options table documents exists in --help" {
  local known stale=() o
  known=$(help_long_options)
  # The first cell of each table row.
  while read -r o; do
    grep -qx -- "$o" <<<"$known" || stale+=("--$o")
  done < <(readme_options_section | grep '^| `' | cut -d'|' -f2 | grep -oE -- '--[a-z][a-z0-9-]*' | sed 's/^--//' | sort -u)
  if ((${#stale[@]})); then
    echo "documented in $README but unknown to --help: ${stale[*]}" >&2
    return 1
  fi
}

@test "the man page names the version that --version prints" {
  local version
  version=$("$OLOT_FILTER" --version | awk '{print $2}')
  grep -E '^\.TH ' "$MAN_PAGE" | grep -qF -- "olot-filter $version" || {
    echo "the .TH line of $MAN_PAGE does not say \"olot-filter $version\"" >&2
    return 1
  }
}
