#!/usr/bin/env bash
# bench/run.sh — the performance figures of SPEC §11, measured against
# references built and measured in the same run (see bench/README.md).
#
#   OLOT_FILTER=build/olot-filter bench/run.sh        (what `make bench` runs)
#
# Environment:
#   OLOT_FILTER   the binary under test (required)
#   BENCH_DIR     where the inputs are generated (default $TMPDIR or /tmp); a
#                 fresh olot-bench.XXXXXX directory is made in it and removed
#                 at the end
#   BENCH_QUICK=1 1/8 of the sizes, 3 runs: for development
#   BENCH_RUNS=N  runs per command (default 7, quick 3); the median is reported
#   BENCH_ONLY    comma-separated figures to run (1,2,3,4,5,profile), default all
#   BENCH_KEEP=1  keep the generated directory (its path is printed)
#   BENCH_WAIT_IDLE=S  wait at most S seconds (default 60) for other processes
#                 to leave the cores before measuring (0: do not wait)
#   BENCH_NICE=N  when root, run at nice N and set the session's autogroup nice
#                 to N (default -20, restored at the end); "off" leaves them
#
# It always exits 0 once the measurements ran: a missed target is a result,
# printed as MISSED, not a failure of the bench.
set -uo pipefail
export LC_ALL=C

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

OLOT=${OLOT_FILTER:-}
[[ -n $OLOT ]] || die "set OLOT_FILTER to the olot-filter binary"
[[ -x $OLOT ]] || die "not executable: $OLOT"
OLOT=$(cd "$(dirname "$OLOT")" && pwd)/$(basename "$OLOT")
HERE=$(cd "$(dirname "$0")" && pwd)

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then SCALE=8; RUNS=${BENCH_RUNS:-3}; else SCALE=1; RUNS=${BENCH_RUNS:-7}; fi
ONLY=",${BENCH_ONLY:-1,2,3,4,5,profile},"
want() { [[ $ONLY == *",$1,"* ]]; }

MiB=$((1 << 20))
GiB=$((1 << 30))
BASE_LAYER_BYTES=$((256 * MiB / SCALE))  # two of them: a 0.5 GiB base
MODEL_FILE_BYTES=$((2 * GiB / 3 / SCALE)) # three of them: 2 GiB of model
BIG_GIB=(1 4 10 16)                       # figure 4, divided by SCALE
if [[ $QUICK == 1 ]]; then
  SHAPES_INDEX=(1 8 16) SHAPES_LAYERS=(1 63 125) SHAPES_FILES=(1 250 500)
else
  SHAPES_INDEX=(1 32 64) SHAPES_LAYERS=(1 250 500) SHAPES_FILES=(1 1000 2000)
fi
RSS_LIMIT_KIB=$((32 * 1024))
JSON_LAYERS=14000 # about 3.9 MiB of manifest and config JSON (figure 4e)

# SHA-256 of N zero bytes for the sizes figure 4 uses (computed once with
# `gen_tar zero-sha256 N`; any other size is computed at run time, ~6 s/10 GiB).
declare -A ZERO_SHA=(
  [134217728]=254bcc3fc4f27172636df4bf32de9f107f620d559b20d760197e452b97453917
  [536870912]=9acca8e8c22201155389f65abbf6bc9723edc7384ead80503839f49dcc56d767
  [1073741824]=49bc20df15e412a64472421e13fe86ff1c5165e18b2afccf160d4dc19fe68a14
  [1342177280]=b857ea49e0b2bcc4eb7a44e44b1d24a62cbd386a3c20c5ffe0c4e9772022d082
  [2147483648]=a7c744c13cc101ed66c29f672f92455547889cc586ce6d44fe76ae824958ea51
  [4294967296]=8479e43911dc45e89f934fe48d01297e16f51d17aa561d4d1c216b1ae0fcddca
  [10737418240]=732377e7f4a2abdc13ddfa1eb4c9c497fd2a2b294674d056cf51581b47dd586d
  [17179869184]=07d217ebccc55480b7afa191674ec5da87f2d14efbc04dbc7e40efe345f16776
)

# ---- tools ----

need() { command -v "$1" >/dev/null 2>&1; }
for t in cc python3 openssl tar; do need "$t" || die "needs $t"; done
if [[ ! -x /usr/bin/time ]]; then
  if [[ $(id -u) -eq 0 ]] && need apt-get; then
    say "installing GNU time (peak RSS)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null 2>&1; }
  fi
  [[ -x /usr/bin/time ]] || die "needs GNU time at /usr/bin/time (Debian package time)"
fi
HAVE_PERF=0
if need perf && perf stat -e task-clock -o /dev/null true >/dev/null 2>&1; then HAVE_PERF=1; fi

ROOT=${BENCH_DIR:-${TMPDIR:-/tmp}}
mkdir -p "$ROOT" || die "cannot create $ROOT"
W=$(mktemp -d "$ROOT/olot-bench.XXXXXX") || die "cannot create a directory in $ROOT"
AUTOGROUP_NICE=
cleanup() {
  [[ -n $AUTOGROUP_NICE ]] && echo "$AUTOGROUP_NICE" >"/proc/$$/autogroup" 2>/dev/null
  if [[ ${BENCH_KEEP:-0} == 1 ]]; then say "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$W/bin" "$W/log" "$W/rss" "$W/perf"
BIN=$W/bin
cc -O2 -Wall -o "$BIN/splice_copy" "$HERE/splice_copy.c" || die "cannot build splice_copy"
cc -O2 -Wall -pthread -o "$BIN/schedule" "$HERE/schedule.c" -lcrypto -lxxhash || die "cannot build schedule (libssl-dev, libxxhash-dev)"
cc -O2 -Wall -o "$BIN/gen_tar" "$HERE/gen_tar.c" -lcrypto || die "cannot build gen_tar"
MK=(python3 "$HERE/mklayout.py")
# A snapshot of the binary: a rebuild while the bench runs must not change
# (or break) what is measured.
OLOT_UNDER_TEST=$OLOT
cp "$OLOT" "$BIN/olot-filter" || die "cannot copy $OLOT"
OLOT=$BIN/olot-filter

# ---- other load on the machine ----
# Other processes on the same two cores falsify every figure: the CPU time
# the whole machine spent (/proc/stat) minus this script's own (times) says
# how much went elsewhere, per figure and in all.

HZ=$(getconf CLK_TCK)
sys_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $9 }' /proc/stat; } # busy and steal jiffies
# `times` must run in this shell, not in a $(...) subshell, to count this
# shell's children; its output goes through a file.
own_cpu() {
  times >"$W/times"
  OWN_CPU=$(awk '{ for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } } END { printf "%.3f", t }' "$W/times")
}
declare -A MARK
mark() { # mark KEY: remember the clocks
  local busy steal
  read -r busy steal < <(sys_busy)
  own_cpu
  MARK[$1]="$EPOCHREALTIME $busy $steal $OWN_CPU"
}
foreign() { # foreign KEY: sets FOREIGN to "other-cores steal-cores" on average since mark KEY
  local busy steal t0 b0 s0 o0
  read -r busy steal < <(sys_busy)
  own_cpu
  read -r t0 b0 s0 o0 <<<"${MARK[$1]}"
  FOREIGN=$(awk -v t0="$t0" -v t1="$EPOCHREALTIME" -v b0="$b0" -v b1="$busy" -v s0="$s0" -v s1="$steal" -v o0="$o0" -v o1="$OWN_CPU" -v hz="$HZ" \
    'BEGIN { w = t1 - t0; if (w <= 0) w = 1; f = ((b1 - b0) / hz - (o1 - o0)) / w; if (f < 0) f = 0; printf "%.2f %.2f", f, (s1 - s0) / hz / w }')
}
LOAD=()
NOISY=0
fig_end() { # fig_end LABEL KEY
  local f s
  foreign "$2"
  read -r f s <<<"$FOREIGN"
  LOAD+=("$(printf '%-22s other processes %s cores, steal %s cores' "$1:" "$f" "$s")")
  if awk -v f="$f" -v s="$s" 'BEGIN { exit !(f > 0.15 || s > 0.15) }'; then NOISY=1; LOAD[-1]+="  <- NOT IDLE: figures unreliable"; fi
}
# Waits (BENCH_WAIT_IDLE seconds at most, default 60) for the other
# processes to leave the cores alone.
wait_idle() {
  local limit=${BENCH_WAIT_IDLE:-60} waited=0 f s
  while :; do
    mark idle
    sleep 2
    foreign idle
    read -r f s <<<"$FOREIGN"
    awk -v f="$f" 'BEGIN { exit !(f < 0.15) }' && return 0
    waited=$((waited + 2))
    if ((waited >= limit)); then
      say "the machine is busy ($f cores used by other processes); measuring anyway"
      return 1
    fi
    ((waited == 2)) && say "waiting up to ${limit} s for other processes to leave the cores ($f cores busy)"
  done
}

START=$EPOCHREALTIME
mark all

# ---- measuring ----

declare -A T RSS FAIL   # name -> "t1 t2 ...", name -> "kib ...", name -> exit status
declare -a BIG_BYTES   # GiB label -> bytes
WRAP=time RSS_FILE=/dev/null PERF_FILE=/dev/null CHECK=
PERF_EVENTS=task-clock,context-switches,cpu-migrations,page-faults,cycles,instructions

# The olot-filter under test, inside a pipeline: its peak RSS is recorded.
olot() {
  case $WRAP in
    time) exec /usr/bin/time -f %M -o "$RSS_FILE" "$OLOT" -q "$@" ;;
    perf) exec perf stat -x, -o "$PERF_FILE" -e "$PERF_EVENTS" -- "$OLOT" -q "$@" ;;
    *) exec "$OLOT" -q "$@" ;;
  esac
}
# The last stage of every pipeline: cat, or (CHECK=file) the name of the last
# tar entry, to check that the output is a complete layout.
sink() {
  if [[ -n $CHECK ]]; then tar -tf - 2>/dev/null | tail -n 1 >"$CHECK"; else exec cat >/dev/null; fi
}

fsub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# measure NAME: runs job_NAME once and records its wall time and peak RSS.
measure() {
  local name=$1 t0 t1 rc
  RSS_FILE=$W/rss/$name
  : >"$RSS_FILE"
  t0=$EPOCHREALTIME
  "job_$name" 2>>"$W/log/$name.err"
  rc=$?
  t1=$EPOCHREALTIME
  if ((rc != 0)); then
    FAIL[$name]=$rc
    say "$name failed (exit $rc): $(tail -n 2 "$W/log/$name.err" | tr '\n' ' ')"
  fi
  T[$name]+="$(fsub "$t0" "$t1") "
  local kib
  kib=$(tail -n 1 "$RSS_FILE" 2>/dev/null)
  [[ $kib =~ ^[0-9]+$ ]] && RSS[$name]+="$kib "
  return 0
}

# check NAME: one untimed run whose output must be a layout tar ending in
# index.json (and olot-filter must exit 0).
check() {
  local name=$1 rc
  CHECK=$W/log/$name.last RSS_FILE=/dev/null
  : >"$CHECK"
  "job_$name" 2>>"$W/log/$name.err"
  rc=$?
  local last
  last=$(cat "$CHECK")
  CHECK=
  if ((rc != 0)) || [[ $last != index.json ]]; then
    FAIL[$name]=${rc/#0/bad-output}
    say "$name: exit $rc, last entry '${last}': $(tail -n 2 "$W/log/$name.err" | tr '\n' ' ')"
    return 1
  fi
}

# rounds N NAME...: N rounds, each running every NAME once, the order rotated
# from round to round, so that slow drifts hit every command alike.
rounds() {
  local n=$1 r i
  shift
  local names=("$@")
  for ((r = 0; r < n; r++)); do
    for ((i = 0; i < ${#names[@]}; i++)); do measure "${names[(i + r) % ${#names[@]}]}"; done
  done
}

median() {
  tr ' ' '\n' <<<"${T[$1]:-}" | grep . | sort -g |
    awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
maxrss() { tr ' ' '\n' <<<"${RSS[$1]:-}" | grep . | sort -g | tail -n 1; }
spread() { tr ' ' '\n' <<<"${T[$1]:-}" | grep . | sort -g | awk '{ a[NR] = $1 } END { if (NR) printf "%.3f-%.3f", a[1], a[NR] }'; }
calc() { awk "BEGIN { x = $1; printf \"%.${2:-3}f\", x }"; }
filesize() { stat -c %s "$1"; }

ROWS=()   # figure|measured|reference|ratio|target|ok
DETAILS=()
# row FIGURE MEASURED REFERENCE RATIO OP LIMIT [NOTE]: the ratio is rounded to
# 2 decimals and that is what is compared with the target.
row() {
  local fig=$1 meas=$2 ref=$3 ratio=$4 op=$5 limit=$6 note=${7:-} ok
  if [[ $ratio == nan || -z $ratio ]]; then
    ratio=-
    ok="n/a"
  else
    ratio=$(calc "$ratio" 2)
    ok=$(awk -v r="$ratio" -v op="$op" -v l="$limit" 'BEGIN { print ((op == ">=") ? (r + 0 >= l + 0) : (r + 0 <= l + 0)) ? "ok" : "MISSED" }')
  fi
  [[ $op == info ]] && ok=info
  [[ -n $note ]] && ok="$ok ($note)"
  local tgt
  case $op in
    ">=") tgt=">= $limit" ;;
    "<=") tgt="<= $limit" ;;
    *) tgt="-" ;;
  esac
  ROWS+=("$fig|$meas|$ref|$ratio|$tgt|$ok")
}
failrow() { ROWS+=("$1|FAILED (${2})|-|-|$3|MISSED"); }
detail() {
  local n
  for n in "$@"; do DETAILS+=("$(printf '%-14s median %8.3f s  runs %s  [%s]' "$n" "$(median "$n")" "$(tr ' ' '\n' <<<"${T[$n]:-}" | grep -c .)" "$(spread "$n")")"); done
}
gibs() { calc "$1 / $2 / $GiB" 2; } # bytes seconds -> GiB/s
mib() { calc "$1 / 1024" 1; }       # KiB -> MiB
gib_label() { awk -v g="$1" -v s="$SCALE" 'BEGIN { printf "%g", g / s }'; }

# ---- inputs ----

say "generating inputs in $W (scale 1/$SCALE, $RUNS runs)"
if want 1 || want 2 || want 3 || want profile; then
  "${MK[@]}" base "$W/base-layout" "$BASE_LAYER_BYTES" 2 || die "cannot generate the base layout"
  tar -C "$W/base-layout" --sort=name -cf "$W/base.tar" . || die "cannot tar the base layout"
  rm -rf "$W/base-layout"
  BASE=$W/base.tar
  BASE_BYTES=$(filesize "$BASE")
fi
if want 2 || want 3 || want profile; then
  "${MK[@]}" model "$W/model" 3 "$MODEL_FILE_BYTES" || die "cannot generate the model"
  MODEL=$W/model
  README=$MODEL/README.md
  MODEL_FILES=("$MODEL"/model-*.safetensors "$README")
  MODEL_BYTES=$(cat "${MODEL_FILES[@]}" | wc -c)
fi
# Everything is read once so that every run finds it in the page cache.
[[ -n ${BASE:-} ]] && cat "$BASE" >/dev/null
[[ -n ${MODEL:-} ]] && cat "${MODEL_FILES[@]}" >/dev/null

# ---- jobs: each the same pipeline, `cat in | X | cat >/dev/null` ----

job_cat() { cat "$BASE" | cat | sink; }
job_splice() { cat "$BASE" | "$BIN/splice_copy" | sink; }
job_pass() { cat "$BASE" | olot | sink; }
job_model() { cat "$BASE" | olot -m "$MODEL" -c "$README" | sink; }
job_ideal1() { cat "$BASE" | "$BIN/schedule" run 1 "${MODEL_FILES[@]}" | sink; }
job_ideal2() { cat "$BASE" | "$BIN/schedule" run 2 "${MODEL_FILES[@]}" | sink; }
job_hash() { "$BIN/schedule" sha256 "${MODEL_FILES[@]}" >/dev/null; }
job_modelpipe() { "$BIN/splice_copy" "${MODEL_FILES[@]}" | sink; }
job_stream0() { cat "$BASE" | "$BIN/schedule" run 0 "${MODEL_FILES[@]}" | sink; }
job_copy() { cat "$BASE" | "$BIN/schedule" run copy | sink; }
job_copy0() { cat "$BASE" | "$BIN/schedule" run copy "${MODEL_FILES[@]}" | sink; }
job_xxh30() { cat "$BASE" | "$BIN/schedule" run xxh3 "${MODEL_FILES[@]}" | sink; }
job_cache() { cat "$BASE" | olot --cache "$W/cache" -m "$MODEL" -c "$README" | sink; }

# ---- figure 1: pass-through ----

# Then the bench raises its own priority (BENCH_NICE, default -20, when
# root; "off" never): processes that start later get the cores only while its
# pipelines wait, and the load report below says how much they took.
NICED=
[[ ${BENCH_WAIT_IDLE:-60} != 0 ]] && wait_idle
if [[ ${BENCH_NICE:--20} != off ]]; then
  if renice -n "${BENCH_NICE:--20}" -p $$ >/dev/null 2>&1; then
    NICED=${BENCH_NICE:--20}
    # With autogroup scheduling, nice only ranks processes of one session
    # against each other: the session's own nice ranks it against the rest.
    # It is put back at the end.
    if [[ -w /proc/$$/autogroup ]]; then
      AUTOGROUP_NICE=$(sed -n 's/.* nice \(-*[0-9]*\)$/\1/p' /proc/$$/autogroup)
      echo "$NICED" >"/proc/$$/autogroup" 2>/dev/null || AUTOGROUP_NICE=
    fi
    say "running at nice $NICED"
  fi
fi

if want 1; then
  mark f1
  say "figure 1: pass-through of $(calc "$BASE_BYTES / $MiB" 0) MiB"
  if check pass; then
    measure cat; measure splice; measure copy; measure pass # warm-up
    T=() RSS=()
    rounds $((2 * RUNS + 1)) cat splice copy pass # short runs: more of them
    tc=$(median cat) ts=$(median splice) tp=$(median pass) tw=$(median copy)
    row "1a pass-through, verify on, vs cat (cat keeps 64 KiB pipes)" "$(gibs "$BASE_BYTES" "$tp") GiB/s" "cat: $(gibs "$BASE_BYTES" "$tc") GiB/s" \
      "$(calc "$tc / $tp" 4)" ">=" 1.00
    row "1b pass-through vs pipe ceiling" "$(gibs "$BASE_BYTES" "$tp") GiB/s" "splice: $(gibs "$BASE_BYTES" "$ts") GiB/s" \
      "$(calc "$ts / $tp" 4)" ">=" 0.70
    row "1c pass-through vs read/write copier, 1 MiB pipes" "$(gibs "$BASE_BYTES" "$tp") GiB/s" "copy: $(gibs "$BASE_BYTES" "$tw") GiB/s" \
      "$(calc "$tw / $tp" 4)" info ""
    detail cat splice copy pass
  else
    failrow "1 pass-through" "exit ${FAIL[pass]}" ">= 1.00"
  fi
  fig_end "figure 1" f1
fi

# ---- figures 2 and 3: the add-model job, cold and with a warm cache ----

if want 2; then
  mark f2
  say "figure 2: add-model, $(calc "$BASE_BYTES / $MiB" 0) MiB base + $(calc "$MODEL_BYTES / $MiB" 0) MiB model"
  T=() RSS=()
  if check model; then
    measure model; measure ideal1; measure ideal2; measure hash; measure modelpipe; measure splice
    T=() RSS=()
    rounds "$RUNS" model ideal1 ideal2 hash modelpipe splice
    tm=$(median model) t1=$(median ideal1) t2=$(median ideal2)
    th=$(median hash) tmp=$(median modelpipe) tb=$(median splice)
    MODEL_T=$tm
    tcomp=$(calc "($tb > $th ? $tb : $th) + $tmp" 6)
    row "2a add-model vs ideal schedule, 1 SHA-256/byte (run)" "$(calc "$tm") s" "$(calc "$t1") s" "$(calc "$tm / $t1" 4)" "<=" 1.15
    row "2b add-model vs SPEC 10 schedule, 2 SHA-256/byte (run)" "$(calc "$tm") s" "$(calc "$t2") s" "$(calc "$tm / $t2" 4)" "<=" 1.15
    row "2c add-model vs composed ideal max(base,hash)+model/ceiling" "$(calc "$tm") s" \
      "max($(calc "$tb"),$(calc "$th"))+$(calc "$tmp") = $(calc "$tcomp") s" "$(calc "$tm / $tcomp" 4)" info ""
    row "2d SHA-256 of the model bytes, OpenSSL, 1 core" "$(calc "$th") s" "$(gibs "$MODEL_BYTES" "$th") GiB/s" nan info ""
    detail model ideal1 ideal2 hash modelpipe splice
  else
    failrow "2 add-model" "exit ${FAIL[model]}" "<= 1.15"
  fi
  fig_end "figure 2" f2
fi

if want 3; then
  mark f3
  say "figure 3: add-model with a warm --cache"
  T=() RSS=()
  if check cache; then
    measure cache; measure xxh30; measure stream0; measure copy0; measure model # the check above filled the cache; warm-up
    T=() RSS=()
    # The cold job again, interleaved with the warm one, to tell whether the
    # cache changes anything.
    rounds "$RUNS" cache xxh30 stream0 copy0 model
    MODEL_T=$(median model)
    tk=$(median cache) tx=$(median xxh30) t0=$(median stream0) tw0=$(median copy0)
    note=""
    # Detect a cache that changes nothing: within 10 % of the cold job.
    if awk -v k="$tk" -v m="$MODEL_T" 'BEGIN { exit !(k > 0.9 * m) }'; then note="cache not effective: $(calc "$tk / $MODEL_T" 2)x the cold job"; fi
    row "3a add-model, warm --cache, vs streaming without SHA-256 (bytes read once, XXH3 re-check)" "$(calc "$tk") s" "$(calc "$tx") s" "$(calc "$tk / $tx" 4)" "<=" 1.15 "$note"
    row "3b add-model, warm --cache, vs the cold job" "$(calc "$tk") s" "$(calc "$MODEL_T") s" "$(calc "$tk / $MODEL_T" 4)" info ""
    row "3c add-model, warm --cache, vs read/write copy of the bytes" "$(calc "$tk") s" "$(calc "$tw0") s" "$(calc "$tk / $tw0" 4)" info ""
    row "3d add-model, warm --cache, vs the bytes spliced, no hashing at all" "$(calc "$tk") s" "$(calc "$t0") s" "$(calc "$tk / $t0" 4)" info ""
    detail cache xxh30 stream0 copy0 model
  else
    case ${FAIL[cache]} in
      64) failrow "3 add-model, warm --cache" "--cache not accepted: exit 64" "<= 1.15" ;;
      *) failrow "3 add-model, warm --cache" "exit ${FAIL[cache]}" "<= 1.15" ;;
    esac
  fi
  fig_end "figure 3" f3
fi

# ---- figure 4: peak RSS and linearity on huge generated inputs ----

if want 4; then
  mark f4
  T=() RSS=()
  big_runs=$(( RUNS >= 5 ? 3 : 1 ))
  names=()
  for g in "${BIG_GIB[@]}"; do
    bytes=$((g * GiB / SCALE))
    sha=${ZERO_SHA[$bytes]:-}
    [[ -n $sha ]] || sha=$("$BIN/gen_tar" zero-sha256 "$bytes")
    dir=$W/zeros-$g
    "${MK[@]}" zeros "$dir" "$bytes" "$sha" || die "cannot generate $dir"
    eval "job_big$g() { (cd '$dir' && exec '$BIN/gen_tar' 'blobs/sha256/$sha' $bytes oci-layout blobs/sha256/* index.json) | olot | sink; }"
    eval "job_bigcat$g() { (cd '$dir' && exec '$BIN/gen_tar' 'blobs/sha256/$sha' $bytes oci-layout blobs/sha256/* index.json) | cat | sink; }"
    BIG_BYTES[$g]=$bytes
    names+=("big$g")
  done
  say "figure 4: pass-through of generated $(printf '%s ' "${BIG_GIB[@]}")GiB/$SCALE inputs, $big_runs run(s)"
  g10=${BIG_GIB[2]}
  if check "big${BIG_GIB[0]}"; then
    rounds "$big_runs" "${names[@]}" "bigcat$g10"
    lo=${BIG_GIB[0]} hi=${BIG_GIB[-1]}
    r10=$(maxrss "big$g10")
    rss_list=""
    for g in "${BIG_GIB[@]}"; do rss_list+="$(gib_label "$g") GiB: $(mib "$(maxrss "big$g")") MiB, "; done
    row "4a peak RSS, $(gib_label "$g10") GiB input (MiB)" "$(mib "$r10") MiB" "$(mib $RSS_LIMIT_KIB) MiB" "$(calc "$r10 / $RSS_LIMIT_KIB" 4)" "<=" 1.00
    row "4b peak RSS flat: $(gib_label "$hi") vs $(gib_label "$lo") GiB" "$(mib "$(maxrss "big$hi")") MiB" \
      "$(mib "$(maxrss "big$lo")") MiB" "$(calc "$(maxrss "big$hi") / $(maxrss "big$lo")" 4)" "<=" 1.10
    tlo=$(median "big$lo") thi=$(median "big$hi")
    t_list=""
    for g in "${BIG_GIB[@]}"; do t_list+="$(calc "$(median "big$g")" 2) "; done
    row "4c wall linear in bytes: $(gib_label "$hi") GiB vs $hi/$lo x $(gib_label "$lo") GiB" "$(calc "$thi") s" \
      "$(calc "$tlo * $hi / $lo") s" "$(calc "$thi / ($tlo * $hi / $lo)" 4)" "<=" 1.10
    tcat=$(median "bigcat$g10")
    row "4d pass-through of $(gib_label "$g10") GiB vs cat (generated input; cat keeps 64 KiB pipes)" "$(gibs "${BIG_BYTES[$g10]}" "$(median "big$g10")") GiB/s" \
      "cat: $(gibs "${BIG_BYTES[$g10]}" "$tcat") GiB/s" "$(calc "$tcat / $(median "big$g10")" 4)" info ""
    DETAILS+=("figure 4 peak RSS: ${rss_list%, }; wall: $t_list s")
    detail "${names[@]}" "bigcat$g10"
  else
    failrow "4 peak RSS" "exit ${FAIL[big${BIG_GIB[0]}]}" "<= 1.00"
  fi
  # SPEC §11 bounds RSS for any input whose JSON fits in 4 MiB: a manifest
  # and config of JSON_LAYERS tiny layers come close to that.
  dir=$W/json-layers
  "${MK[@]}" layers "$dir" "$JSON_LAYERS" 256 || die "cannot generate $dir"
  json_bytes=$(find "$dir" -type f -size +1k -printf '%s\n' | awk '{ s += $1 } END { print s }')
  tar -C "$dir" --sort=name -cf "$dir.tar" . && rm -rf "$dir"
  "${MK[@]}" model "$W/json-model" 1 "$MiB" || die "cannot generate the small model"
  job_jsonpass() { cat "$W/json-layers.tar" | olot | sink; }
  job_jsonmodel() { cat "$W/json-layers.tar" | olot -m "$W/json-model" -c "$W/json-model/README.md" | sink; }
  T=() RSS=()
  if check jsonmodel; then
    rounds "$big_runs" jsonpass jsonmodel
    for j in jsonpass jsonmodel; do
      what=$([[ $j == jsonpass ]] && echo pass-through || echo add-model)
      row "4e peak RSS, $(calc "$json_bytes / $MiB" 2) MiB of input JSON ($JSON_LAYERS layers), $what" "$(mib "$(maxrss "$j")") MiB" \
        "$(mib $RSS_LIMIT_KIB) MiB" "$(calc "$(maxrss "$j") / $RSS_LIMIT_KIB" 4)" "<=" 1.00
    done
    detail jsonpass jsonmodel
  else
    failrow "4e peak RSS, 4 MiB of input JSON" "exit ${FAIL[jsonmodel]}" "<= 1.00"
  fi
  fig_end "figure 4" f4
fi

# ---- figure 5: shape scaling ----

shape() { # shape KIND LABEL UNIT N... : generate, check, measure, report
  local kind=$1 label=$2 unit=$3
  shift 3
  local ns=("$@") n names=() dir
  T=() RSS=()
  for n in "${ns[@]}"; do
    case $kind in
      index | layers)
        dir=$W/shape-$kind-$n
        "${MK[@]}" "$kind" "$dir" "$n" || die "cannot generate $dir"
        tar -C "$dir" --sort=name -cf "$dir.tar" . && rm -rf "$dir"
        eval "job_${kind}_$n() { cat '$dir.tar' | olot -m '$W/small-model' -c '$W/small-model/README.md' | sink; }"
        ;;
      files)
        dir=$W/shape-files-$n
        "${MK[@]}" model "$dir" "$n" 4096 || die "cannot generate $dir"
        eval "job_${kind}_$n() { cat '$W/small-base.tar' | olot -m '$dir' -c '$dir/README.md' | sink; }"
        ;;
    esac
    names+=("${kind}_$n")
  done
  local small=${ns[1]} big=${ns[2]} one=${ns[0]}
  if ! check "${kind}_$big"; then
    failrow "5 $label" "exit ${FAIL[${kind}_$big]}" "<= 1.25"
    return
  fi
  local r
  for r in "${names[@]}"; do measure "$r"; done
  T=() RSS=()
  # Each run is a fraction of a second: more of them steady the medians.
  rounds $((2 * RUNS + 1)) "${names[@]}"
  local t1 ts tb tlin
  t1=$(median "${kind}_$one") ts=$(median "${kind}_$small") tb=$(median "${kind}_$big")
  # Linear extrapolation from the smaller sizes: 1.0 is linear, a quadratic
  # algorithm shows about big/small.
  tlin=$(calc "$t1 + ($ts - $t1) * ($big - $one) / ($small - $one)" 6)
  row "5 $label $big $unit: time" "$(calc "$tb") s ($small: $(calc "$ts") s, $one: $(calc "$t1") s)" \
    "linear: $(calc "$tlin") s" "$(calc "$tb / $tlin" 4)" "<=" 1.25
  row "5 $label $big $unit: peak RSS" "$(mib "$(maxrss "${kind}_$big")") MiB ($small: $(mib "$(maxrss "${kind}_$small")"), $one: $(mib "$(maxrss "${kind}_$one")"))" \
    "$(mib $RSS_LIMIT_KIB) MiB" "$(calc "$(maxrss "${kind}_$big") / $RSS_LIMIT_KIB" 4)" "<=" 1.00
  detail "${names[@]}"
}

if want 5; then
  say "figure 5: shapes (index ${SHAPES_INDEX[*]}, layers ${SHAPES_LAYERS[*]}, files ${SHAPES_FILES[*]})"
  "${MK[@]}" model "$W/small-model" 1 "$MiB" || die "cannot generate the small model"
  "${MK[@]}" base "$W/small-base" "$MiB" 1 || die "cannot generate the small base"
  tar -C "$W/small-base" --sort=name -cf "$W/small-base.tar" . && rm -rf "$W/small-base"
  mark f5
  shape index "index of" platforms "${SHAPES_INDEX[@]}"
  shape layers "base manifest of" layers "${SHAPES_LAYERS[@]}"
  shape files "model of" "small files" "${SHAPES_FILES[@]}"
  fig_end "figure 5" f5
fi

# ---- where the time goes ----

PROFILE=()
profile_job() { # profile_job NAME: one more run of the whole pipeline under GNU time, olot-filter under perf stat
  local name=$1
  local out=$W/perf/$name.time
  WRAP=perf PERF_FILE=$W/perf/$name.perf
  ((HAVE_PERF)) || WRAP=none
  : >"$PERF_FILE"
  export -f "job_$name" olot sink
  export OLOT BIN BASE MODEL README W WRAP PERF_FILE PERF_EVENTS CHECK
  /usr/bin/time -f '%e %U %S %w %c' -o "$out" bash -c "MODEL_FILES=(${MODEL_FILES[*]@Q}); job_$name" 2>>"$W/log/$name.err"
  WRAP=time
  local wall user sys vcs ics
  read -r wall user sys vcs ics < <(tail -n 1 "$out")
  [[ $wall =~ ^[0-9.]+$ ]] || return 0
  local line
  line=$(printf '%-10s wall %6.3f s  pipeline CPU user %6.3f s sys %6.3f s (%.2f cores)  ctx-sw vol %s invol %s' \
    "$name" "$wall" "$user" "$sys" "$(calc "($user + $sys) / $wall" 3)" "$vcs" "$ics")
  if [[ -s $PERF_FILE ]]; then
    local tc cs mig pf cyc ins
    tc=$(awk -F, '$3 == "task-clock" { print $1 }' "$PERF_FILE")
    cs=$(awk -F, '$3 == "context-switches" { print $1 }' "$PERF_FILE")
    mig=$(awk -F, '$3 == "cpu-migrations" { print $1 }' "$PERF_FILE")
    pf=$(awk -F, '$3 == "page-faults" { print $1 }' "$PERF_FILE")
    cyc=$(awk -F, '$3 == "cycles" { print $1 }' "$PERF_FILE")
    ins=$(awk -F, '$3 == "instructions" { print $1 }' "$PERF_FILE")
    line+=$(printf '\n%-10s olot-filter alone: task-clock %.3f s (%.2f cores), context-switches %s, migrations %s, page-faults %s' \
      "" "$(calc "$tc / 1000" 3)" "$(calc "$tc / 1000 / $wall" 3)" "$cs" "$mig" "$pf")
    if [[ $cyc =~ ^[0-9]+$ && $ins =~ ^[0-9]+$ ]]; then
      line+=$(printf ', IPC %.2f' "$(calc "$ins / $cyc" 3)")
    else
      line+=", cycles/instructions: not supported here"
    fi
  fi
  PROFILE+=("$line")
}

if want profile && [[ -n ${BASE:-} && -n ${MODEL:-} ]]; then
  say "where the time goes: one more run of each job under GNU time and perf stat"
  mark prof
  for j in cat splice copy pass ideal1 ideal2 model stream0 copy0 xxh30 cache; do profile_job "$j"; done
  fig_end "where the time goes" prof
fi
fig_end "whole bench" all

# ---- the table ----

ELAPSED=$(fsub "$START" "$EPOCHREALTIME")
{
  echo
  echo "olot-filter benchmark (SPEC §11): $OLOT_UNDER_TEST ($("$OLOT" --version 2>/dev/null | head -n 1))"
  echo "$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(uname -r); scale 1/$SCALE, median of $RUNS runs, commands interleaved${NICED:+, at nice $NICED}"
  [[ -n ${BASE_BYTES:-} ]] && echo "base: $(calc "$BASE_BYTES / $MiB" 1) MiB (config + 2 incompressible gzip-typed layers)"
  [[ -n ${MODEL_BYTES:-} ]] && echo "model: $(calc "$MODEL_BYTES / $MiB" 1) MiB (3 incompressible files + README.md, the modelcard)"
  echo "every pipeline is 'cat in | X | cat >/dev/null'; references: X = cat; X = splice_copy (splice(2), 1 MiB pipes);"
  echo "  2a: schedule run 1 = base spliced while a thread SHA-256s model file 1, file i spliced once hashed while file i+1 is hashed;"
  echo "  2b: schedule run 2 = as 2a, but file i is read, SHA-256d again and written (the two hashes of SPEC §10);"
  echo "  2c: composed from measured parts: max(base via splice_copy, SHA-256 of the model on 1 core) + model files via splice_copy;"
  echo "  1c, 3c: schedule run copy = read(2)/write(2) through a 1 MiB buffer, 1 MiB pipes, no hashing (a filter that copies its bytes);"
  echo "  3a: schedule run xxh3 = the same bytes read once and written (as 3c), each model file XXH3-128 checked on the way;"
  echo "  3d: schedule run 0 = the same bytes spliced, no hashing;  4: gen_tar streams the input (zeros vmspliced, no disk)"
  echo
  {
    echo "figure|measured|reference|ratio|target|ok?"
    printf '%s\n' "${ROWS[@]}"
  } | column -t -s '|' -o ' | '
  echo
  if ((${#PROFILE[@]})); then
    echo "where the time goes (one extra run each; 'cores' = CPU time / wall):"
    printf '  %s\n' "${PROFILE[@]}"
    echo
  fi
  echo "machine load while measuring (CPU time of processes outside the bench / wall time):"
  printf '  %s\n' "${LOAD[@]}"
  if ((NOISY)); then
    echo "  WARNING: other processes were using the cores: the figures above are not reliable; rerun on an idle machine"
    [[ -n $NICED ]] && echo "  (the bench ran at nice $NICED, so they mostly ran while its pipelines waited; CPU-bound figures still suffer most)"
  fi
  echo
  echo "raw times (s):"
  printf '  %s\n' "${DETAILS[@]}"
  echo
  missed=$(printf '%s\n' "${ROWS[@]}" | grep -c 'MISSED')
  if ((missed)); then echo "MISSED: $missed target(s) — see the rows marked MISSED above"; else echo "all targets met"; fi
  echo "bench took $(calc "$ELAPSED" 0) s"
}
exit 0
