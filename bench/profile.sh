#!/usr/bin/env bash
# bench/profile.sh — where olot-filter spends its time in the two jobs of
# `make bench` (pass-through, add-model). Not part of `make bench`: run it
# by hand when a figure is missed.
#
#   OLOT_FILTER=build/olot-filter bench/profile.sh [perf] [callgrind] [strace]
#
# perf       perf record -e cpu-clock: flat profile per thread and symbol
# callgrind  valgrind --tool=callgrind on a small input: instructions per
#            function (independent of other load on the machine)
# strace     strace -f -c: system calls, and the sizes of stdin reads and
#            stdout writes
# Environment: BENCH_DIR (default $TMPDIR or /tmp), PROFILE_MIB (size of the
# base layout, default 256; the model is 3 files of the same total size),
# BENCH_KEEP=1 keeps the data and the raw profiles.
set -uo pipefail
export LC_ALL=C
die() { echo "profile: $*" >&2; exit 1; }
OLOT=${OLOT_FILTER:?set OLOT_FILTER}
HERE=$(cd "$(dirname "$0")" && pwd)
MIB=${PROFILE_MIB:-256}
modes=("$@")
((${#modes[@]})) || modes=(perf callgrind strace)

ROOT=${BENCH_DIR:-${TMPDIR:-/tmp}}
W=$(mktemp -d "$ROOT/olot-profile.XXXXXX") || die "cannot create a directory in $ROOT"
trap '[[ ${BENCH_KEEP:-0} == 1 ]] && echo "profile: kept $W" >&2 || rm -rf "$W"' EXIT
cp "$OLOT" "$W/olot-filter" || die "cannot copy $OLOT"
OLOT=$W/olot-filter
MK=(python3 "$HERE/mklayout.py")

mkinputs() { # mkinputs DIR MIB
  "${MK[@]}" base "$1/base-layout" $(($2 * 1024 * 1024 / 2)) 2 || die "cannot generate the base"
  tar -C "$1/base-layout" --sort=name -cf "$1/base.tar" . && rm -rf "$1/base-layout"
  "${MK[@]}" model "$1/model" 3 $(($2 * 1024 * 1024 / 3)) || die "cannot generate the model"
  cat "$1/base.tar" "$1"/model/* >/dev/null
}
mkdir -p "$W/big" "$W/small"
mkinputs "$W/big" "$MIB"

section() { printf '\n==== %s ====\n' "$*"; }

for mode in "${modes[@]}"; do
  case $mode in
    perf)
      command -v perf >/dev/null || { echo "perf: not installed (apt-get install linux-perf)"; continue; }
      for job in pass model; do
        args=()
        [[ $job == model ]] && args=(-m "$W/big/model" -c "$W/big/model/README.md")
        cat "$W/big/base.tar" | perf record -q -e cpu-clock -F 2000 -o "$W/$job.perf" -- "$OLOT" -q "${args[@]}" | cat >/dev/null
        section "perf, $job ($MIB MiB base${args:+ + $MIB MiB model}): CPU samples per thread"
        perf report -i "$W/$job.perf" --stdio --sort pid 2>/dev/null | grep -v '^#' | grep . | head -n 8
        section "perf, $job: per thread and library"
        perf report -i "$W/$job.perf" --stdio --sort pid,dso 2>/dev/null | grep -v '^#' | grep . | head -n 16
        # libcrypto is stripped: its samples are SHA-256 (the per-library view counts them).
        section "perf, $job: per thread and symbol, libcrypto left out (top 25)"
        perf report -i "$W/$job.perf" --stdio --sort pid,dso,sym 2>/dev/null | grep -v '^#' | grep . | grep -v libcrypto | head -n 25
      done
      ;;
    callgrind)
      command -v valgrind >/dev/null || { echo "callgrind: valgrind not installed"; continue; }
      [[ -f $W/small/base.tar ]] || mkinputs "$W/small" $((MIB / 8 > 8 ? MIB / 8 : 8))
      for job in pass model; do
        args=()
        [[ $job == model ]] && args=(-m "$W/small/model" -c "$W/small/model/README.md")
        valgrind --tool=callgrind --callgrind-out-file="$W/$job.cg" -q "$OLOT" -q "${args[@]}" <"$W/small/base.tar" >/dev/null 2>"$W/$job.cg.err"
        section "callgrind, $job ($((MIB / 8 > 8 ? MIB / 8 : 8)) MiB): instructions, inclusive, top 30"
        callgrind_annotate --inclusive=yes "$W/$job.cg" 2>/dev/null | grep -E '^ *[0-9,]+ ' | head -n 30
      done
      ;;
    strace)
      command -v strace >/dev/null || { echo "strace: not installed"; continue; }
      for job in pass model; do
        args=()
        [[ $job == model ]] && args=(-m "$W/big/model" -c "$W/big/model/README.md")
        rm -rf "$W/st-$job" && mkdir -p "$W/st-$job"
        # -ff: one file per thread, so no call is split into unfinished/resumed halves.
        cat "$W/big/base.tar" | strace -ff -qq -o "$W/st-$job/t" -e trace=read,write,splice,futex,fcntl -- "$OLOT" -q "${args[@]}" | cat >/dev/null
        section "strace, $job: system calls per thread"
        for f in "$W/st-$job"/t.*; do
          printf '  thread %s:' "${f##*.}"
          awk '{ n = $0; sub(/\(.*/, "", n); c[n]++ } END { for (k in c) printf " %s %d", k, c[k]; print "" }' "$f"
        done
        section "strace, $job: fcntl"
        cat "$W/st-$job"/t.* | grep '^fcntl' | head -n 4
        section "strace, $job: read(0) sizes (count bytes)"
        cat "$W/st-$job"/t.* | grep -E '^read\(0,' | awk '{ print $NF }' | sort -n | uniq -c | sort -rn | head -n 6
        section "strace, $job: write(1) sizes (count bytes)"
        cat "$W/st-$job"/t.* | grep -E '^write\(1,' | awk '{ print $NF }' | sort -n | uniq -c | sort -rn | head -n 6
        if [[ $job == model ]]; then
          section "strace, $job: model file reads (count bytes)"
          cat "$W/st-$job"/t.* | grep -E '^read\([3-9][0-9]*,' | awk '{ print $NF }' | sort -n | uniq -c | sort -rn | head -n 4
        fi
      done
      ;;
    *) die "unknown mode $mode (perf, callgrind, strace)" ;;
  esac
done
