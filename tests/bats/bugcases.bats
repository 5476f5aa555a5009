#!/usr/bin/env bats
# Regression tests from public bug reports about tools that build and move
# OCI / Docker image layouts (B01 ... B31).  Each case builds a small input
# with tests/fixtures/bugcases.py, runs olot-filter on it and checks what a
# consumer sees: the global output checks G1-G8 (tests/lib/gchecks.py) for
# the cases that must succeed, and for the ones that must fail: the exit
# status, exactly one stderr line "olot-filter: ..." naming the entry or
# document, and no index.json in the partial output.  No registry is used;
# skopeo and umoci read the output archives offline.
#
# B12 reads a 9 GiB model file: it runs only with OLOT_SLOW=1.

bats_require_minimum_version 1.5.0

_bats_lib=${BATS_LIB_DIR:-/usr/lib/bats}
load "$_bats_lib/bats-support/load"
load "$_bats_lib/bats-assert/load"

REPO=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
: "${OLOT_FILTER:=$REPO/build/olot-filter}"
GEN=$REPO/tests/fixtures/bugcases.py
GCHECKS=$REPO/tests/lib/gchecks.py
if [[ -z ${PY:-} ]]; then
  if [[ -x /usr/bin/python3 ]]; then PY=/usr/bin/python3; else PY=python3; fi
fi
MTIME=1700000000
MTIME_RFC=2023-11-14T22:13:20Z

setup_file() {
  [[ -x $OLOT_FILTER ]] || {
    echo "OLOT_FILTER=$OLOT_FILTER is not an executable (run make first)" >&2
    return 1
  }
  export FX=$BATS_FILE_TMPDIR/fx M1=$BATS_FILE_TMPDIR/fx/m1
  "$PY" "$GEN" "$FX" >&2
  write_lib "$BATS_FILE_TMPDIR/bclib.py"
}

setup() {
  export TMPDIR=$BATS_TEST_TMPDIR
  export PYTHONPATH=$BATS_FILE_TMPDIR
  unset SOURCE_DATE_EPOCH
  cd "$BATS_TEST_TMPDIR"
}

# ------------------------------------------------------------------ helpers

# filt IN OUT ARGS... -- olot-filter ARGS <IN >OUT, bounded in time
# ($FILT_TIMEOUT, default 10 s: the small fixtures); sets $status, $err and
# ${err_lines[@]}; never fails by itself.
filt() {
  local in=$1 out=$2
  shift 2
  status=0
  timeout -k 5 "${FILT_TIMEOUT:-10}" "$OLOT_FILTER" "$@" <"$in" >"$out" 2>"$BATS_TEST_TMPDIR/stderr" || status=$?
  err=$(cat "$BATS_TEST_TMPDIR/stderr")
  mapfile -t err_lines <"$BATS_TEST_TMPDIR/stderr"
}

# run_f CASE OUT [ARGS...] -- "Run F" of the bug cases: model.bin plus the
# modelcard README.md, --mtime 1700000000, on $FX/CASE.tar.
run_f() {
  local case=$1 out=$2
  shift 2
  filt "$FX/$case.tar" "$out" --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md" "$@"
}

# assert_ok -- the last filt exited 0 and every stderr line is olot-filter's.
assert_ok() {
  [[ $status == 0 ]] || fail "olot-filter exited $status: $err"
  local l
  for l in "${err_lines[@]}"; do
    [[ $l == "olot-filter: "* ]] || fail "stderr line without the 'olot-filter: ' prefix: $l"
  done
}

# warning_count -- lines of the last filt's stderr that are warnings.
warning_count() {
  local l n=0
  for l in "${err_lines[@]}"; do
    [[ $l == "olot-filter: warning:"* ]] && n=$((n + 1))
  done
  echo "$n"
}

assert_warnings() {
  local n
  n=$(warning_count)
  [[ $n == "$1" ]] || fail "expected $1 warning line(s), got $n: $err"
}

# assert_refused STATUS OUT NEEDLE... -- the global failure checks: exit
# STATUS (so no signal death and no timeout), exactly one stderr line, it
# starts "olot-filter: ", is not a warning and names every NEEDLE; OUT holds
# no index.json.
assert_refused() {
  local want=$1 out=$2 n c
  shift 2
  [[ $status == "$want" ]] || fail "exit status $status, expected $want; stderr: $err"
  (( ${#err_lines[@]} == 1 )) || fail "expected exactly one stderr line, got ${#err_lines[@]}:"$'\n'"$err"
  [[ ${err_lines[0]} == "olot-filter: "* ]] || fail "stderr does not start with 'olot-filter: ': $err"
  [[ ${err_lines[0]} != "olot-filter: warning:"* ]] || fail "the only stderr line is a warning: $err"
  for n in "$@"; do
    [[ ${err_lines[0]} == *"$n"* ]] || fail "stderr does not name '$n': $err"
  done
  c=$({ tar -tf "$out" 2>/dev/null || true; } | grep -cx index.json || true)
  [[ $c == 0 ]] || fail "the refused output holds $c index.json entr(y/ies)"
}

# gcheck OUT [gchecks.py options] -- G1-G8 on OUT.
gcheck() {
  run "$PY" "$GCHECKS" "$@"
  [[ $status == 0 ]] || fail "global checks on $1:"$'\n'"$output"
}

# first_too CASE OUT ARGS... -- the same run on CASE.first.tar (index.json and
# oci-layout before the blobs, SPEC §3): it must succeed too and give the same
# index.json and the same set of blobs as OUT.
first_too() {
  local case=$1 out=$2
  shift 2
  filt "$FX/$case.first.tar" "$out.first" "$@"
  assert_ok
  assert_equal "$(tar -xOf "$out.first" index.json)" "$(tar -xOf "$out" index.json)"
  assert_equal "$(tar -tf "$out.first" | grep '^blobs/' | sort)" "$(tar -tf "$out" | grep '^blobs/' | sort)"
  gcheck "$out.first" --input "$FX/$case.first.tar" --skip G8
}

# first_refused_too CASE STATUS ARGS... -- CASE.first.tar is refused the same way.
first_refused_too() {
  local case=$1 want=$2 first
  shift 2
  first=${err_lines[0]}
  filt "$FX/$case.first.tar" first.out "$@"
  assert_refused "$want" first.out
  assert_equal "${err_lines[0]}" "$first"
}

# pyok ARGS... <<'EOF' code EOF -- python code with bclib's helpers; argv[1:]
# are ARGS; fails the test with the code's output unless it exits 0.
pyok() {
  local code
  code=$(cat)
  run "$PY" -c "from bclib import *
$code" "$@"
  [[ $status == 0 ]] || fail "check failed:"$'\n'"$output"
  [[ -z $output ]] || echo "$output"
}

fact() {
  "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(v if isinstance(v,str) else json.dumps(v))' \
    "$FX/$1.json" "$2"
}

write_lib() {
  cat >"$1" <<'EOF'
"""Helpers for the python snippets of bugcases.bats."""
import gzip, hashlib, io, json, os, sys, tarfile

FX = os.environ["FX"]
M1 = os.environ["M1"]
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
REF = "org.opencontainers.image.ref.name"
TITLE = "org.opencontainers.image.title"
INLAYER = "olot.layer.content.inlayerpath"


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg)
        sys.exit(1)


def fact(case, key):
    with open(os.path.join(FX, case + ".json")) as f:
        return json.load(f)[key]


def path_of(digest):
    return "blobs/%s/%s" % tuple(digest.split(":", 1))


class L:
    """A layout tar (input or output), names normalised."""

    def __init__(self, path):
        self.t = tarfile.open(path, "r:*")
        self.m = {}
        for x in self.t.getmembers():
            n = "/".join(p for p in x.name.split("/") if p not in ("", "."))
            if x.isfile():
                self.m[n] = x

    def raw(self, name):
        return self.t.extractfile(self.m[name]).read()

    def has(self, digest):
        return path_of(digest) in self.m

    def blob(self, digest):
        return self.raw(path_of(digest))

    def doc(self, digest):
        return json.loads(self.blob(digest))

    @property
    def index(self):
        return json.loads(self.raw("index.json"))

    def entry(self, ref="latest"):
        es = [e for e in self.index["manifests"] if (e.get("annotations") or {}).get(REF) == ref]
        check(len(es) == 1, "index.json has %d entries named %s" % (len(es), ref))
        return es[0]

    def images(self, ref="latest"):
        """[(platform entry or None, manifest digest, manifest, config)] below ref."""
        e = self.entry(ref)
        d = self.doc(e["digest"])
        if d.get("mediaType") == OCI_INDEX or "manifests" in d:
            out = []
            for c in d["manifests"]:
                if c.get("mediaType") in (OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json") and self.has(c["digest"]):
                    m = self.doc(c["digest"])
                    out.append((c, c["digest"], m, self.doc(m["config"]["digest"])))
            return out
        return [(e, e["digest"], d, self.doc(d["config"]["digest"]))]

    def json_blobs(self):
        for n, x in self.m.items():
            if n.startswith("blobs/"):
                b = self.t.extractfile(x).read(x.size if x.size < (64 << 20) else 0)
                if b.lstrip()[:1] == b"{":
                    try:
                        yield n, json.loads(b)
                    except ValueError:
                        pass


def exact(b):
    """JSON with key order and number literals kept: objects become
    ("obj", [(k, v)...]), numbers ("num", literal)."""
    return json.loads(b, object_pairs_hook=lambda p: ("obj", p),
                      parse_float=lambda s: ("num", s), parse_int=lambda s: ("num", s))


def extends(old, new, rules, path=()):
    """Problems (list of str) unless `new` equals `old` except where `rules`
    allow: rules[path] = "ignore" | "append" | ("extend", {allowed new keys}).
    Paths use "*" for array positions."""
    rule = rules.get(path)
    if rule == "ignore":
        return []
    where = "/".join(path) or "(top)"
    if isinstance(old, tuple) and old[0] == "obj":
        if not (isinstance(new, tuple) and new[0] == "obj"):
            return ["%s: object became %r" % (where, new)]
        ok, nk = [k for k, _ in old[1]], [k for k, _ in new[1]]
        allowed = rule[1] if isinstance(rule, tuple) and rule[0] == "extend" else set()
        probs = []
        if nk[:len(ok)] != ok:
            probs.append("%s: keys %s became %s (order or keys lost)" % (where, ok, nk))
            return probs
        extra = nk[len(ok):]
        if any(k not in allowed for k in extra):
            probs.append("%s: unexpected new keys %s" % (where, [k for k in extra if k not in allowed]))
        for (k, ov), (_, nv) in zip(old[1], new[1]):
            probs += extends(ov, nv, rules, path + (k,))
        return probs
    if isinstance(old, list):
        if not isinstance(new, list):
            return ["%s: array became %r" % (where, new)]
        if rule == "append":
            if len(new) < len(old):
                return ["%s: array shrank from %d to %d" % (where, len(old), len(new))]
            new = new[:len(old)]
        elif len(new) != len(old):
            return ["%s: array of %d became %d" % (where, len(old), len(new))]
        probs = []
        for o, n in zip(old, new):
            probs += extends(o, n, rules, path + ("*",))
        return probs
    if old != new:
        return ["%s: %r became %r" % (where, old, new)]
    return []


MANIFEST_RULES = {("config", "digest"): "ignore", ("config", "size"): "ignore", ("layers",): "append",
                  ("annotations",): ("extend", {"io.opendatahub.author", "io.opendatahub.layers.modelcard",
                                                "org.opencontainers.image.base.digest"}),
                  (): ("extend", {"annotations"})}
CONFIG_RULES = {("rootfs", "diff_ids"): "append", ("history",): "append", ("created",): "ignore",
                (): ("extend", {"created", "history"})}
INDEX_RULES = {("manifests", "*", "digest"): "ignore", ("manifests", "*", "size"): "ignore"}


def same_but(old_bytes, new_bytes, rules, what):
    probs = extends(exact(old_bytes), exact(new_bytes), rules)
    check(not probs, "%s changed beyond the intended edits:\n  %s" % (what, "\n  ".join(probs)))


def layer_entries(data):
    """[(name as stored, type, mode, uid, gid, uname, gname, mtime)] of a layer tar."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    out = []
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        for m in t:
            out.append((m.name + ("/" if m.isdir() else ""), m.type, m.mode, m.uid, m.gid, m.uname, m.gname, m.mtime))
    return out


def history_non_empty(cfg):
    return [h for h in cfg.get("history") or [] if h.get("empty_layer") is not True]
EOF
}

# ------------------------------------------------------------------ B01

history_case() {  # CASE BASE_LAYERS
  run_f "$1" out.tar
  assert_ok
  assert_warnings 1
  gcheck out.tar --input "$FX/$1.tar" --model model.bin="$M1/model.bin" --model README.md="$M1/README.md"
  pyok "$1" "$2" "$MTIME_RFC" <<'EOF'
case, base, created = sys.argv[1], int(sys.argv[2]), sys.argv[3]
inp, out = L(FX + "/" + case + ".tar"), L("out.tar")
(_, _, m, cfg), = out.images()
(_, _, _, old), = inp.images()
old_hist = old.get("history") or []
hist = cfg["history"]
check(hist[:len(old_hist)] == old_hist, "the base's own history entries were not kept in front: %s" % hist)
missing = base - len(history_non_empty(old))
placeholders = hist[len(old_hist):len(old_hist) + missing]
added = hist[len(old_hist) + missing:]
check(len(placeholders) == missing and all(p == {"created": created, "created_by": "olot-filter: history missing in base"}
      for p in placeholders), "want %d placeholder entries (created %s, no empty_layer), got %s" % (missing, created, placeholders))
check([h.get("created_by") for h in added] == ["olot-filter: add /models/model.bin", "olot-filter: add /models/README.md"],
      "added history entries: %s" % added)
check(all(h.get("created") == created and "empty_layer" not in h for h in added), "added entries: %s" % added)
check(len(history_non_empty(cfg)) == len(m["layers"]) == base + 2, "G4: %d non-empty history entries, %d layers, want %d"
      % (len(history_non_empty(cfg)), len(m["layers"]), base + 2))
check(cfg.get("created") == created, "config created is %r" % cfg.get("created"))
EOF
  first_too "$1" out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B01a: a base config without history gets one placeholder per base layer, with a warning" {
  history_case b01a 2
}

@test "B01b: \"history\": null is treated like no history" {
  history_case b01b 2
}

@test "B01c: partial history (1 non-empty entry for 3 layers) is padded with placeholders, never violating G4" {
  history_case b01c 3
}

@test "B01d: more non-empty history entries than layers is refused (exit 65, naming the manifest)" {
  run_f b01d out.tar
  assert_refused 65 out.tar "$(fact b01d manifest)" history
  first_refused_too b01d 65 --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

# ------------------------------------------------------------------ B03

@test "B03a: D1 through olot-filter twice (batches): base, a.bin, b.bin in every platform, nothing Docker left" {
  # a real pipe between the two runs (the middle stream is kept with tee)
  run timeout -k 5 20 bash -c '"$1" --mtime "$2" "$3" <"$4" 2>a.err | tee mid.tar | "$1" --mtime "$2" "$5" >out.tar 2>b.err
    echo "${PIPESTATUS[*]}"' _ "$OLOT_FILTER" "$MTIME" "$M1/a.bin" "$FX/d1.tar" "$M1/b.bin"
  assert_success
  assert_output "0 0 0"
  run grep -hv '^olot-filter: ' a.err b.err
  assert_output ''
  gcheck mid.tar --input "$FX/d1.tar"
  gcheck out.tar --input mid.tar
  # nothing of the Docker documents of the original input is left either
  gcheck out.tar --input "$FX/d1.tar" --only G7
  pyok <<'EOF'
out = L("out.tar")
imgs = out.images()
check(len(imgs) == 2, "want 2 platform manifests, got %d" % len(imgs))
for entry, d, m, cfg in imgs:
    titles = [(l.get("annotations") or {}).get(TITLE) for l in m["layers"]]
    check(titles == [None, "a.bin", "b.bin"], "%s (%s): layer titles %s" % (d, entry.get("platform"), titles))
for n, doc in out.json_blobs():
    check("docker" not in (doc.get("mediaType") or ""), "%s still has a Docker media type" % n)
EOF
}

@test "B03b: an unreferenced Docker manifest blob is not converted and not treated as an image" {
  run_f b03b out.tar
  assert_ok
  gcheck out.tar --input "$FX/b03b.tar" --model model.bin="$M1/model.bin"
  pyok "$(fact b03b orphan)" <<'EOF'
orphan = sys.argv[1]
inp, out = L(FX + "/b03b.tar"), L("out.tar")
check(len(out.images()) == 1, "index.json reaches %d image manifests" % len(out.images()))
modified = [n for n, d in out.json_blobs() if (d.get("annotations") or {}).get("io.opendatahub.author") == "olot"]
check(len(modified) == 1, "want exactly one modified manifest in the output, got %s" % modified)
if out.has(orphan):
    check(out.blob(orphan) == inp.blob(orphan), "the orphan was passed through changed")
for n, d in out.json_blobs():
    if n != path_of(orphan):
        check("docker" not in json.dumps(d.get("mediaType")), "%s is a Docker document" % n)
EOF
  first_too b03b out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B03c: re-running on its own output with the same file and --mtime gives a byte-identical tar" {
  filt "$FX/l0.tar" o1.tar --mtime "$MTIME" "$M1/model.bin"
  assert_ok
  gcheck o1.tar --input "$FX/l0.tar" --model model.bin="$M1/model.bin"
  filt o1.tar o2.tar --mtime "$MTIME" "$M1/model.bin"
  assert_ok
  assert_equal "$(tar -xOf o2.tar index.json)" "$(tar -xOf o1.tar index.json)"
  assert_equal "$(tar -tf o2.tar | sort)" "$(tar -tf o1.tar | sort)"
  cmp o1.tar o2.tar || fail "o2.tar differs from o1.tar"
}

# ------------------------------------------------------------------ B04

@test "B04: Docker manifest list in an OCI layout is converted per §5.1, layers and config bytes kept" {
  # the input is what skopeo cannot read (it skips the Docker-typed entry)
  run ! skopeo inspect --raw "oci-archive:$FX/d1.tar:latest"
  run_f d1 out.tar
  assert_ok
  gcheck out.tar --input "$FX/d1.tar"
  run skopeo inspect --raw "oci-archive:$BATS_TEST_TMPDIR/out.tar:latest"
  assert_success
  assert_equal "$("$PY" -c 'import json,sys; print(json.load(sys.stdin)["mediaType"])' <<<"$output")" \
    application/vnd.oci.image.index.v1+json
  run skopeo --override-arch arm64 inspect "oci-archive:$BATS_TEST_TMPDIR/out.tar:latest"
  assert_success
  pyok <<'EOF'
inp, out = L(FX + "/d1.tar"), L("out.tar")
e = out.entry()
check(e["mediaType"] == OCI_INDEX, "index.json entry type %s" % e["mediaType"])
idx = out.doc(e["digest"])
check(idx["mediaType"] == OCI_INDEX, "index type %s" % idx["mediaType"])
old = {c["platform"]["architecture"]: (c, inp.doc(c["digest"])) for c in inp.doc(inp.entry()["digest"])["manifests"]}
model_layers = []
for c, d, m, cfg in out.images():
    arch = c["platform"]["architecture"]
    oc, om = old[arch]
    check(c["platform"] == oc["platform"], "platform %s became %s" % (oc["platform"], c["platform"]))
    check(c["mediaType"] == m["mediaType"] == OCI_MANIFEST, "manifest types %s / %s" % (c["mediaType"], m["mediaType"]))
    check(m["config"]["mediaType"] == OCI_CONFIG, "config type %s" % m["config"]["mediaType"])
    base = m["layers"][:len(om["layers"])]
    check([(l["digest"], l["size"]) for l in base] == [(l["digest"], l["size"]) for l in om["layers"]], "base layers changed")
    check([l["mediaType"] for l in base] == ["application/vnd.oci.image.layer.v1.tar+gzip"], "base layer types %s" % base)
    for l in base:
        check(out.blob(l["digest"]) == inp.blob(l["digest"]), "layer blob %s changed" % l["digest"])
    same_but(inp.blob(om["config"]["digest"]), out.blob(m["config"]["digest"]), CONFIG_RULES, "config of " + arch)
    model_layers.append([(l["digest"], l["mediaType"]) for l in m["layers"][len(om["layers"]):]])
check(len(model_layers) == 2 and model_layers[0] == model_layers[1] and len(model_layers[0]) == 2,
      "model layers differ between the platforms: %s" % model_layers)
check(all(t.startswith("application/vnd.oci.") for ls in model_layers for _, t in ls), "model layer types %s" % model_layers)
EOF
  first_too d1 out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

# ------------------------------------------------------------------ B06

@test "B06: uncompressed and foreign Docker layer types map to OCI (urls kept, absent foreign blob accepted)" {
  run_f b06 out.tar
  assert_ok
  # G8 without umoci: the foreign layer is absent by design (it has urls)
  gcheck out.tar --input "$FX/b06.tar" --no-unpack
  pyok <<'EOF'
out = L("out.tar")
(_, d, m, cfg), = out.images()
got = [[l["mediaType"], l.get("urls")] for l in m["layers"][:3]]
want = [["application/vnd.oci.image.layer.v1.tar", None],
        ["application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", ["https://artifacts.example/base.tgz"]],
        ["application/vnd.oci.image.layer.v1.tar+gzip", None]]
check(got == want, "converted layers %s, want %s" % (got, want))
check([l["digest"] for l in m["layers"][:3]] == fact("b06", "layers"), "layer digests changed")
check(len(m["layers"]) == 5, "want 3 base + 2 model layers, got %d" % len(m["layers"]))
EOF
  first_too b06 out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B06d: a signed schema1 manifest is refused (exit 65) with what to do instead" {
  run_f b06d out.tar
  assert_refused 65 out.tar "$(fact b06d manifest)"
  [[ ${err_lines[0]} =~ (convert|re-pull|pull) ]] || fail "the message does not say how to convert: $err"
  first_refused_too b06d 65 --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

# ------------------------------------------------------------------ B07

@test "B07a: an OCI index with Docker v2 children: children converted, entries and index rewritten" {
  run_f b07a out.tar
  assert_ok
  gcheck out.tar --input "$FX/b07a.tar"
  pyok <<'EOF'
inp, out = L(FX + "/b07a.tar"), L("out.tar")
e = out.entry()
check(e["digest"] != inp.entry()["digest"], "the OCI index was not rewritten")
idx = out.doc(e["digest"])
for c in idx["manifests"]:
    m = out.doc(c["digest"])
    check(c["mediaType"] == m["mediaType"] == OCI_MANIFEST, "entry %s / document %s" % (c["mediaType"], m["mediaType"]))
    check(c["size"] == len(out.blob(c["digest"])), "entry size")
    check(all(l["mediaType"].startswith("application/vnd.oci.") for l in m["layers"]), "layer types %s" % m["layers"])
    check(m["config"]["mediaType"] == OCI_CONFIG, "config type")
EOF
  first_too b07a out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B07b: an entry that says Docker v2 for an OCI manifest gets its type corrected, the manifest is not re-encoded" {
  run_f b07b out.tar
  assert_ok
  gcheck out.tar --input "$FX/b07b.tar"
  pyok <<'EOF'
inp, out = L(FX + "/b07b.tar"), L("out.tar")
old = {c["platform"]["architecture"]: c for c in inp.doc(inp.entry()["digest"])["manifests"]}
for c, d, m, cfg in out.images():
    arch = c["platform"]["architecture"]
    check(c["mediaType"] == OCI_MANIFEST, "%s entry type %s" % (arch, c["mediaType"]))
    same_but(inp.blob(old[arch]["digest"]), out.blob(d), MANIFEST_RULES, "manifest " + arch)
EOF
  first_too b07b out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

# ------------------------------------------------------------------ B08

@test "B08a: attestations of replaced manifests are dropped with a warning each; they are never modified" {
  run_f b08a out.tar
  assert_ok
  assert_warnings 2
  gcheck out.tar --input "$FX/b08a.tar"
  pyok <<'EOF'
inp, out = L(FX + "/b08a.tar"), L("out.tar")
atts = fact("b08a", "attestations")
idx = out.doc(out.entry()["digest"])
digests = {c["digest"] for c in idx["manifests"]}
for a in atts:
    check(a not in digests, "attestation %s still listed" % a)
    check(not out.has(a), "attestation manifest %s still in the output" % a)
refs = {(c.get("annotations") or {}).get("vnd.docker.reference.digest") for c in idx["manifests"]} - {None}
check(refs <= digests, "dangling vnd.docker.reference.digest %s" % (refs - digests))
imgs = out.images()
check(sorted(c["platform"]["architecture"] for c, _, _, _ in imgs) == ["amd64", "arm64"], "platforms %s" % imgs)
for c, d, m, cfg in imgs:
    check(any((l.get("annotations") or {}).get(INLAYER) == "/models/model.bin" for l in m["layers"]), "%s has no model" % d)
for n, doc in out.json_blobs():
    ls = doc.get("layers") or []
    if ls and ls[0].get("mediaType") == "application/vnd.in-toto+json":
        check(not any(INLAYER in (l.get("annotations") or {}) for l in ls), "attestation %s got model layers" % n)
EOF
  first_too b08a out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B08b: a referrer (subject) of a replaced manifest is dropped with a warning" {
  run_f b08b out.tar
  assert_ok
  assert_warnings 1
  gcheck out.tar --input "$FX/b08b.tar"
  pyok <<'EOF'
out = L("out.tar")
ref = fact("b08b", "referrer")
names = [(e.get("annotations") or {}).get(REF) for e in out.index["manifests"]]
check(names == ["latest"], "index.json entries %s (the sig referrer should be gone)" % names)
check(not out.has(ref), "the referrer manifest is still in the output")
present = {c for c in out.m}
for n, doc in out.json_blobs():
    s = doc.get("subject")
    if isinstance(s, dict):
        check(path_of(s["digest"]) in present, "%s has a dangling subject %s" % (n, s["digest"]))
EOF
  first_too b08b out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

# ------------------------------------------------------------------ B09

@test "B09a: a layout tarred from inside (./ names, directory entries) works and the output has no ./ names" {
  assert_equal "$(tar -tf "$FX/b09a.tar" | head -1)" ./
  run_f b09a out.tar
  assert_ok
  gcheck out.tar --input "$FX/b09a.tar" --model model.bin="$M1/model.bin" --model README.md="$M1/README.md"
  run bash -c "tar -tf out.tar | grep -c '^\./'"
  assert_output 0
}

@test "B09b: index.json and ./index.json in one archive are refused as a duplicate (exit 65)" {
  run_f b09b out.tar
  assert_refused 65 out.tar index.json
  [[ ${err_lines[0]} == *duplicate* ]] || fail "the message does not say duplicate: $err"
}

@test "B09c: one blob under both spellings (./blobs/... and blobs/...) is refused as a duplicate (exit 65)" {
  run_f b09c out.tar
  assert_refused 65 out.tar "blobs/sha256/$(fact b09a layer | cut -c8-)"
  [[ ${err_lines[0]} == *duplicate* ]] || fail "the message does not say duplicate: $err"
}

# ------------------------------------------------------------------ B11

pax_size_case() {
  # the fixture really has a zero ustar size field for the layer blob
  pyok "$FX/$1.tar" <<'EOF'
data = open(sys.argv[1], "rb").read()
blocks = [data[i:i + 512] for i in range(0, len(data), 512)]
check(any(b[124:136] == b"00000000000\0" and b[156:157] == b"0" for b in blocks), "no zero-size ustar header in the fixture")
check(any(b"size=" in b for b in blocks), "no PAX size record in the fixture")
EOF
  run_f "$1" out.tar
  assert_ok
  gcheck out.tar --input "$FX/$1.tar" --model model.bin="$M1/model.bin" --model README.md="$M1/README.md"
  local layer size
  layer=$(fact "$1" patched)
  size=$(fact "$1" layer_size)
  if [[ $layer == "$(fact "$1" config)" ]]; then
    # the config was read whole: the new one is the old one plus the edits
    pyok "$1" <<'EOF'
inp, out = L(FX + "/" + sys.argv[1] + ".tar"), L("out.tar")
(_, _, m, _), = out.images()
same_but(inp.blob(fact(sys.argv[1], "config")), out.blob(m["config"]["digest"]), CONFIG_RULES, "config")
EOF
    return
  fi
  run bash -c "tar -tvf out.tar | grep -F 'blobs/sha256/${layer#sha256:}'"
  assert_success
  [[ $output =~ [[:space:]]$size[[:space:]] ]] || fail "tar -tvf does not show $size bytes: $output"
}

@test "B11: a layer blob whose size is only in a PAX record (ustar size 0) comes out whole" {
  pax_size_case b11
}

@test "B11: the same with the blob's name only in a PAX path record" {
  pax_size_case b11-path
}

@test "B11: the same for a buffered document (the config)" {
  pax_size_case b11-config
}

# ------------------------------------------------------------------ B12

@test "B12: a 9 GiB model file gets a GNU base-256 size in its layer header (OLOT_SLOW=1)" {
  [[ ${OLOT_SLOW:-0} == 1 ]] || skip "reads and writes 9 GiB; set OLOT_SLOW=1"
  truncate -s 9G big.bin
  assert_equal "$(stat -c %s big.bin)" 9663676416
  FILT_TIMEOUT=3600 filt "$FX/l0.tar" out.tar --mtime "$MTIME" big.bin
  assert_ok
  run tar -tvf out.tar
  assert_success
  local layer
  layer=$("$PY" -c 'from bclib import *
(_, _, m, _), = L("out.tar").images()
print([l["digest"] for l in m["layers"] if (l.get("annotations") or {}).get(TITLE) == "big.bin"][0])')
  [[ $layer == sha256:* ]] || fail "no big.bin layer: $layer"
  # the outer entry: 9 GiB + the layer's own headers and end blocks
  pyok out.tar "$layer" <<'EOF'
t = tarfile.open(sys.argv[1])
m = t.getmember(path_of(sys.argv[2]))
check(9663676416 + 1024 <= m.size <= 9663676416 + 16384, "outer entry size %d" % m.size)
f = t.extractfile(m)
head = f.read(4096)
blocks = [head[i:i + 512] for i in range(0, len(head), 512)]
hdr = [b for b in blocks if b[:100].rstrip(b"\0") == b"models/big.bin"]
check(len(hdr) == 1, "no header for models/big.bin in the first blocks of the layer")
check(hdr[0][124:136].hex() == "800000000000000240000000", "size field %s" % hdr[0][124:136].hex())
EOF
  run bash -c "tar -xOf out.tar '$(printf 'blobs/sha256/%s' "${layer#sha256:}")' | tar -tvf -"
  assert_success
  assert_line --partial 9663676416
  assert_line --partial models/big.bin
  run "$PY" "$GCHECKS" out.tar --input "$FX/l0.tar" --model big.bin="$BATS_TEST_TMPDIR/big.bin"
  [[ $status == 0 ]] || fail "global checks: $output"
}

# ------------------------------------------------------------------ B15

@test "B15: new layers carry their parent directories (0775), files 0664, root-owned, names without /" {
  mkdir -p dir/tokenizer
  cp "$M1/model.bin" dir/model.bin
  printf '{"a":1}\n' >dir/tokenizer/vocab.json
  chmod 0600 dir/model.bin
  chmod 0640 dir/tokenizer/vocab.json
  filt "$FX/l0.tar" out.tar --mtime "$MTIME" --model dir
  assert_ok
  gcheck out.tar --input "$FX/l0.tar" --model model.bin="$M1/model.bin" \
    --model tokenizer/vocab.json="$BATS_TEST_TMPDIR/dir/tokenizer/vocab.json"
  pyok <<'EOF'
out = L("out.tar")
(_, _, m, _), = out.images()
added = [l for l in m["layers"] if INLAYER in (l.get("annotations") or {})]
check([l["annotations"][INLAYER] for l in added] == ["/models/model.bin", "/models/tokenizer/vocab.json"],
      "added layers %s" % [l["annotations"] for l in added])
want = [[("models/", tarfile.DIRTYPE, 0o775), ("models/model.bin", tarfile.REGTYPE, 0o664)],
        [("models/", tarfile.DIRTYPE, 0o775), ("models/tokenizer/", tarfile.DIRTYPE, 0o775),
         ("models/tokenizer/vocab.json", tarfile.REGTYPE, 0o664)]]
for l, w in zip(added, want):
    es = layer_entries(out.blob(l["digest"]))
    check([(e[0], e[1], e[2]) for e in es] == w, "layer %s entries %s, want %s" % (l["digest"], es, w))
    check(all(e[3:7] == (0, 0, "", "") for e in es), "owners %s" % es)
EOF
  # the names as GNU tar reads them (with their trailing slash, no leading /)
  local l
  for l in $("$PY" -c 'from bclib import *
(_, _, m, _), = L("out.tar").images()
print(" ".join(x["digest"][7:] for x in m["layers"] if INLAYER in (x.get("annotations") or {})))'); do
    run bash -c "tar -xOf out.tar blobs/sha256/$l | tar -tf -"
    assert_success
    assert_line --index 0 models/
    refute_line --regexp '^/'
  done
}

# ------------------------------------------------------------------ B17

@test "B17: with SOURCE_DATE_EPOCH the output does not depend on the model file's mtime or the run time" {
  local epoch=1773397800
  cp "$M1/model.bin" model.bin
  cp "$M1/README.md" README.md
  touch -d 2026-03-13T10:30:00Z model.bin
  SOURCE_DATE_EPOCH=$epoch filt "$FX/l0.tar" run1.tar model.bin --modelcard README.md
  assert_ok
  gcheck run1.tar --input "$FX/l0.tar" --model model.bin="$M1/model.bin" --model README.md="$M1/README.md"
  sleep 1.1
  if (($(date +%s) > epoch)); then touch model.bin README.md; else touch -d @$((epoch + 1000)) model.bin README.md; fi
  SOURCE_DATE_EPOCH=$epoch filt "$FX/l0.tar" run2.tar model.bin --modelcard README.md
  assert_ok
  cmp run1.tar run2.tar || fail "run 2 (fresh file mtimes, later run) differs from run 1"
  pyok <<'EOF'
out = L("run1.tar")
(_, _, m, cfg), = out.images()
created = "2026-03-13T10:30:00Z"
check(cfg.get("created") == created, "config created %r" % cfg.get("created"))
check([h["created"] for h in cfg["history"][1:]] == [created, created], "history created %s" % cfg["history"])
by = {l["annotations"][TITLE]: l for l in m["layers"] if INLAYER in (l.get("annotations") or {})}
es = layer_entries(out.blob(by["model.bin"]["digest"]))
check([e[7] for e in es if e[0] == "models/model.bin"] == [1773397800], "model.bin header mtime %s" % es)
card = out.blob(by["README.md"]["digest"])
check(card[:2] == b"\x1f\x8b" and card[4:8] == b"\0\0\0\0", "modelcard gzip header MTIME %s" % card[4:8].hex())
EOF
  # without SOURCE_DATE_EPOCH: two runs in a row agree at least on the model layer
  filt "$FX/l0.tar" run3a.tar model.bin --modelcard README.md
  assert_ok
  sleep 1.1
  filt "$FX/l0.tar" run3b.tar model.bin --modelcard README.md
  assert_ok
  gcheck run3b.tar --input "$FX/l0.tar" --model model.bin="$M1/model.bin"
  pyok <<'EOF'
def layer(p):
    (_, _, m, _), = L(p).images()
    return [l["digest"] for l in m["layers"] if (l.get("annotations") or {}).get(TITLE) == "model.bin"]
check(layer("run3a.tar") == layer("run3b.tar") != [], "model layer %s vs %s" % (layer("run3a.tar"), layer("run3b.tar")))
EOF
}

# ------------------------------------------------------------------ B18

@test "B18: rewritten documents keep every field, key order and number literal (2.50, 1e3)" {
  run_f b18 out.tar
  assert_ok
  gcheck out.tar --input "$FX/b18.tar"
  pyok <<'EOF'
inp, out = L(FX + "/b18.tar"), L("out.tar")
lit = b'"x-vendor":{"k":[1,2.50,1e3]}'
same_but(inp.raw("index.json"), out.raw("index.json"), INDEX_RULES, "index.json")
check(lit in out.raw("index.json"), "index.json lost the x-vendor literal")
old_idx, new_idx = inp.entry()["digest"], out.entry()["digest"]
check(old_idx != new_idx, "the index was not rewritten")
same_but(inp.blob(old_idx), out.blob(new_idx), INDEX_RULES, "image index")
check(lit in out.blob(new_idx), "the image index lost the x-vendor literal")
old = {c["platform"]["architecture"]: c for c in inp.doc(old_idx)["manifests"]}
for c, d, m, cfg in out.images():
    arch = c["platform"]["architecture"]
    om = inp.doc(old[arch]["digest"])
    same_but(inp.blob(old[arch]["digest"]), out.blob(d), MANIFEST_RULES, "manifest " + arch)
    check(lit in out.blob(d), "manifest %s lost the literal" % arch)
    same_but(inp.blob(om["config"]["digest"]), out.blob(m["config"]["digest"]), CONFIG_RULES, "config " + arch)
    cb = out.blob(m["config"]["digest"])
    check(lit in cb, "config %s lost the literal" % arch)
    c2 = json.loads(cb)["config"]
    for k in ("Healthcheck", "Shell", "OnBuild", "StopSignal"):
        check(k in c2, "config %s lost config.%s" % (arch, k))
EOF
  first_too b18 out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

# ------------------------------------------------------------------ B20

@test "B20: manifest layers in another order than rootfs.diff_ids are refused (exit 65, manifest and position 0)" {
  run_f b20 out.tar
  assert_refused 65 out.tar "$(fact b20 manifest)" "position 0"
  first_refused_too b20 65 --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B20: the same image with the order fixed succeeds" {
  run_f b20-fixed out.tar
  assert_ok
  gcheck out.tar --input "$FX/b20-fixed.tar" --model model.bin="$M1/model.bin" --model README.md="$M1/README.md"
  first_too b20-fixed out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

# ------------------------------------------------------------------ B21

@test "B21a: index.json with \"manifests\": null is refused (exit 65)" {
  run_f b21a out.tar
  assert_refused 65 out.tar index.json manifests
  first_refused_too b21a 65 --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

zero_layer_case() {
  run_f "$1" out.tar
  assert_ok
  assert_warnings 0
  gcheck out.tar --input "$FX/$1.tar" --model model.bin="$M1/model.bin" --model README.md="$M1/README.md"
  pyok <<'EOF'
(_, _, m, cfg), = L("out.tar").images()
check(len(m["layers"]) == 2, "layers %s" % m["layers"])
check(len(cfg["rootfs"]["diff_ids"]) == 2 and len(cfg["history"]) == 2, "diff_ids %s history %s" % (cfg["rootfs"], cfg.get("history")))
check(all(h["created_by"].startswith("olot-filter: add /models/") for h in cfg["history"]), "history %s" % cfg["history"])
EOF
  first_too "$1" out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B21b: a manifest without a layers key gets the two model layers" {
  zero_layer_case b21b
}

@test "B21c: a manifest with \"layers\": [] gets the two model layers" {
  zero_layer_case b21c
}

# ------------------------------------------------------------------ B24

@test "B24a: an index entry whose manifest is absent is refused (exit 65, digest and linux/arm64)" {
  run_f b24a out.tar
  assert_refused 65 out.tar "$(fact b24a arm64)" linux/arm64
  first_refused_too b24a 65 --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B24b: a platform manifest whose config is absent is refused (exit 65, config digest and linux/arm64)" {
  run_f b24b out.tar
  assert_refused 65 out.tar "$(fact b24b arm64_config)" linux/arm64
  first_refused_too b24b 65 --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B24: --platform linux/amd64 prunes the absent arm64 with a warning; no mixed index comes out" {
  run_f b24a out.tar --platform linux/amd64
  assert_ok
  assert_warnings 1
  [[ $err == *linux/arm64* ]] || fail "the warning does not name linux/arm64: $err"
  gcheck out.tar --input "$FX/b24a.tar"
  pyok <<'EOF'
imgs = L("out.tar").images()
check([c["platform"]["architecture"] for c, _, _, _ in imgs] == ["amd64"], "platforms %s" % [c["platform"] for c, _, _, _ in imgs])
idx = L("out.tar").doc(L("out.tar").entry()["digest"])
check(len(idx["manifests"]) == 1, "index entries %s" % idx["manifests"])
(_, _, m, _), = imgs
check(any((l.get("annotations") or {}).get(INLAYER) == "/models/model.bin" for l in m["layers"]), "amd64 has no model")
EOF
}

# ------------------------------------------------------------------ B26

@test "B26: a Docker layer labelled gzip whose bytes are a plain tar becomes layer.v1.tar, with one warning" {
  run_f b26 out.tar
  assert_ok
  assert_warnings 1
  [[ $err == *"$(fact b26 layers | tr -d '[]" ' | cut -d, -f1)"* ]] || fail "the warning does not name the layer: $err"
  gcheck out.tar --input "$FX/b26.tar" --model model.bin="$M1/model.bin" --model README.md="$M1/README.md"
  pyok <<'EOF'
inp, out = L(FX + "/b26.tar"), L("out.tar")
(_, _, m, _), = out.images()
base = m["layers"][0]
check(base["digest"] == fact("b26", "layers")[0], "layer digest changed")
check(out.blob(base["digest"])[:2] != b"\x1f\x8b", "the fixture layer is gzip")
check(base["mediaType"] == "application/vnd.oci.image.layer.v1.tar", "layer type %s" % base["mediaType"])
EOF
  first_too b26 out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B26: a Docker layer labelled gzip whose bytes are zstd becomes layer.v1.tar+zstd, with one warning" {
  run_f b26-zstd out.tar
  assert_ok
  assert_warnings 1
  # umoci 0.4.7 cannot unpack zstd layers ("blob is not correct mediatype"): skopeo only
  gcheck out.tar --input "$FX/b26-zstd.tar" --no-unpack
  pyok <<'EOF'
out = L("out.tar")
(_, _, m, _), = out.images()
base = m["layers"][0]
check(base["digest"] == fact("b26-zstd", "layers")[0], "layer digest changed")
check(out.blob(base["digest"])[:4] == b"\x28\xb5\x2f\xfd", "the fixture layer is not zstd")
check(base["mediaType"] == "application/vnd.oci.image.layer.v1.tar+zstd", "layer type %s" % base["mediaType"])
EOF
}

# ------------------------------------------------------------------ B27

@test "B27a: a 6 MiB config above --max-json-size is refused naming the config and the option" {
  run_f b27a out.tar --max-json-size 4194304
  assert_refused 65 out.tar "$(fact b27a config)" --max-json-size
}

@test "B27a: the 6 MiB config is rewritten with the default (16 MiB) and with --max-json-size 8388608" {
  local opt
  for opt in "" "--max-json-size 8388608"; do
    # shellcheck disable=SC2086
    run_f b27a out.tar $opt
    assert_ok
    # skopeo 1.9 reads no config over 4 MiB (the input's neither): raw + umoci
    gcheck out.tar --input "$FX/b27a.tar" --model model.bin="$M1/model.bin" --no-config-inspect
    pyok <<'EOF'
inp, out = L(FX + "/b27a.tar"), L("out.tar")
(_, _, _, old), = inp.images()
(_, _, m, cfg), = out.images()
check(len(cfg["history"]) == len(old["history"]) + 2, "history %d -> %d" % (len(old["history"]), len(cfg["history"])))
check(len(history_non_empty(cfg)) == len(m["layers"]) == 3, "G4")
EOF
  done
}

@test "B27b: a JSON layer that looks like a Docker manifest is a layer: byte-identical, artifact untouched" {
  # buffered (default) and streamed (--max-json-size below its 600 KiB)
  local opt
  for opt in "" "--max-json-size 524288"; do
    # shellcheck disable=SC2086
    run_f b27b out.tar $opt
    assert_ok
    b27b_checks
  done
  first_too b27b out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

b27b_checks() {
  gcheck out.tar --input "$FX/b27b.tar" --model model.bin="$M1/model.bin"
  pyok <<'EOF'
inp, out = L(FX + "/b27b.tar"), L("out.tar")
j = fact("b27b", "json_layer")
check(out.has(j) and out.blob(j) == inp.blob(j), "the JSON layer blob is not byte-identical in the output")
check(out.entry("card") == inp.entry("card"), "the artifact's index.json entry changed")
art = fact("b27b", "artifact")
check(out.blob(art) == inp.blob(art), "the artifact manifest changed")
check(out.entry()["digest"] != inp.entry()["digest"], "latest was not modified")
(_, _, m, _), = out.images()
check(any(INLAYER in (l.get("annotations") or {}) for l in m["layers"]), "latest has no model layers")
EOF
}

# ------------------------------------------------------------------ B28

sha512_case() {
  run_f "$1" out.tar
  assert_ok
  # umoci 0.4.7 cannot open sha512 blobs ("unsupported algorithm"): skopeo only
  gcheck out.tar --input "$FX/$1.tar" --no-unpack
  local layer
  layer=$(fact "$1" layer)
  [[ $layer == sha512:* ]] || fail "fixture layer is $layer"
  run bash -c "tar -tf out.tar | grep -x 'blobs/sha512/${layer#sha512:}'"
  assert_success
  assert_equal "${#output}" 141
  pyok "$1" <<'EOF'
inp, out = L(FX + "/" + sys.argv[1] + ".tar"), L("out.tar")
layer = fact(sys.argv[1], "layer")
check(out.blob(layer) == inp.blob(layer), "the sha512 layer changed")
(_, _, m, _), = out.images()
check(m["layers"][0]["digest"] == layer, "manifest layer %s" % m["layers"][0])
for n in out.m:
    if n.startswith("blobs/sha512/"):
        check(len(n) == 141, "truncated name %s" % n)
EOF
}

@test "B28a: an all-sha512 layout in PAX format (long names in PAX path records)" {
  sha512_case b28a-pax
}

@test "B28a: an all-sha512 layout in GNU format (././@LongLink names)" {
  sha512_case b28a-gnu
}

@test "B28a: a sha512 blob whose content does not match its name is refused (exit 65)" {
  run_f b28a-bad out.tar
  assert_refused 65 out.tar "$(fact b28a-bad layer | cut -c8-)"
}

@test "B28a: a buffered sha512 document whose content does not match its name is refused (exit 65)" {
  run_f b28a-bad-config out.tar
  assert_refused 65 out.tar "$(fact b28a-bad-config config | cut -c8-)"
}

@test "B28b: a model file at a 160-character relative path keeps its whole name" {
  local rel
  rel=$(printf 'nested-directory-%02d/' 1 2 3 4 5 6)extra/weights-00001-of-00002.safetensors
  assert_equal "${#rel}" 160
  mkdir -p "dir/$(dirname "$rel")"
  cp "$M1/model.bin" "dir/$rel"
  filt "$FX/l0.tar" out.tar --mtime "$MTIME" --model dir
  assert_ok
  gcheck out.tar --input "$FX/l0.tar" --model "$rel=$BATS_TEST_TMPDIR/dir/$rel"
  local layer
  layer=$(REL=$rel "$PY" -c 'from bclib import *
(_, _, m, _), = L("out.tar").images()
ls = [l for l in m["layers"] if INLAYER in (l.get("annotations") or {})]
check(len(ls) == 1 and ls[0]["annotations"][INLAYER] == "/models/" + os.environ["REL"], "annotations %s" % [l["annotations"] for l in ls])
print(ls[0]["digest"][7:])')
  run bash -c "tar -xOf out.tar blobs/sha256/$layer | tar -tf -"
  assert_success
  assert_line "models/$rel"
  pyok "$layer" "$rel" <<'EOF'
es = layer_entries(L("out.tar").blob("sha256:" + sys.argv[1]))
check("models/" + sys.argv[2] in [e[0] for e in es], "python reads %s" % [e[0] for e in es])
EOF
}

# ------------------------------------------------------------------ B29

@test "B29: an artifact whose empty config exists only as inline data gets the blob written" {
  run_f b29 out.tar
  assert_ok
  gcheck out.tar --input "$FX/b29.tar" --model model.bin="$M1/model.bin"
  run tar -xOf out.tar blobs/sha256/44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a
  assert_success
  assert_output '{}'
  run skopeo inspect --raw "oci-archive:$BATS_TEST_TMPDIR/out.tar:artifact"
  assert_success
  pyok <<'EOF'
inp, out = L(FX + "/b29.tar"), L("out.tar")
check(out.entry("artifact") == inp.entry("artifact"), "the artifact's entry changed")
check(out.blob(fact("b29", "artifact")) == inp.blob(fact("b29", "artifact")), "the artifact manifest changed")
check(out.entry()["digest"] != inp.entry()["digest"], "the image was not modified")
EOF
  first_too b29 out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B29: inline data that does not hash to the descriptor's digest is refused (exit 65)" {
  run_f b29-bad out.tar
  assert_refused 65 out.tar "$(fact b29-bad empty)"
}

# ------------------------------------------------------------------ B30

@test "B30: unknown media types in index.json pass through unchanged, in place" {
  run_f b30 out.tar
  assert_ok
  gcheck out.tar --input "$FX/b30.tar" --model model.bin="$M1/model.bin"
  pyok <<'EOF'
inp, out = L(FX + "/b30.tar"), L("out.tar")
check(out.index["manifests"][1:] == inp.index["manifests"][1:], "entries %s became %s" % (inp.index["manifests"][1:], out.index["manifests"][1:]))
for k in ("unknown", "xml"):
    check(out.blob(fact("b30", k)) == inp.blob(fact("b30", k)), "%s blob changed" % k)
check(out.entry()["digest"] != inp.entry()["digest"], "the image was not modified")
EOF
  first_too b30 out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

@test "B30: an unknown media type inside an OCI index keeps its position" {
  run_f b30-l1 out.tar
  assert_ok
  gcheck out.tar --input "$FX/b30-l1.tar"
  pyok <<'EOF'
inp, out = L(FX + "/b30-l1.tar"), L("out.tar")
u = fact("b30-l1", "unknown")
old = inp.doc(inp.entry()["digest"])["manifests"]
new = out.doc(out.entry()["digest"])["manifests"]
check(len(new) == 3 and new[1] == old[1] and old[1]["digest"] == u, "index entries %s" % new)
check(out.blob(u) == inp.blob(u), "unknown blob changed")
check(len(out.images()) == 2, "images")
EOF
  first_too b30-l1 out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
}

# ------------------------------------------------------------------ B31

@test "B31a: a legacy docker-archive is refused (exit 65) with the skopeo docker-archive: conversion" {
  run_f b31a out.tar
  assert_refused 65 out.tar "docker-archive:" "skopeo copy"
}

@test "B31b/c: a gzip- or zstd-compressed layout gives the same output as the plain one" {
  run_f l0 plain.tar
  assert_ok
  gcheck plain.tar --input "$FX/l0.tar" --model model.bin="$M1/model.bin" --model README.md="$M1/README.md"
  local c
  for c in b31b.tar.gz b31c.tar.zst; do
    filt "$FX/$c" out.tar --mtime "$MTIME" "$M1/model.bin" --modelcard "$M1/README.md"
    assert_ok
    cmp plain.tar out.tar || fail "the output for $c differs from the plain layout's"
  done
}
