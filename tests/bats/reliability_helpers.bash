# shellcheck shell=bash
# Helpers for tests/bats/reliability.bats (self-contained: every input is
# generated here, with python3's tarfile/json/hashlib and bash).
#
# The binary under test is $OLOT_FILTER (default: build/olot-filter of this
# checkout).

bats_require_minimum_version 1.5.0

_rel_lib=${BATS_LIB_DIR:-/usr/lib/bats}
load "$_rel_lib/bats-support/load"
load "$_rel_lib/bats-assert/load"

REL_REPO_DIR=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
: "${OLOT_FILTER:=$REL_REPO_DIR/build/olot-filter}"
export OLOT_FILTER
REL_MTIME=1700000000
# Upper bound for one command, so a hang fails a test instead of the suite.
REL_TIMEOUT=${OLOT_TEST_TIMEOUT:-300}

rel_require_binary() {
  [[ -x $OLOT_FILTER ]] || {
    echo "OLOT_FILTER=$OLOT_FILTER is not an executable (run make first)" >&2
    return 1
  }
}

# True when the binary under test carries AddressSanitizer (make SANITIZE=1):
# its shadow memory makes peak-RSS limits meaningless.
rel_is_asan() {
  grep -q -a -m1 __asan_init "$OLOT_FILTER"
}

# rel_run IN OUT ARGS... — olot-filter ARGS <IN >OUT, bounded in time; sets
# $status and $stderr; never fails by itself.
rel_run() {
  local in=$1 out=$2
  shift 2
  status=0
  timeout -k 5 "$REL_TIMEOUT" "$OLOT_FILTER" "$@" <"$in" >"$out" 2>"$BATS_TEST_TMPDIR/stderr" || status=$?
  stderr=$(cat "$BATS_TEST_TMPDIR/stderr")
}

# rel_index_count TAR — how many index.json entries a (maybe broken) tar has.
rel_index_count() {
  { tar -tf "$1" 2>/dev/null || true; } | grep -cx 'index.json' || true
}

# rel_assert_error CODE — the last rel_run exited CODE (and not by a signal),
# and its stderr has an error line "olot-filter: ..." that is not a warning.
rel_assert_error() {
  local code=$1
  if [[ $status -ne $code ]]; then
    echo "expected exit $code, got $status; stderr:" >&2
    printf '%s\n' "$stderr" | head -20 >&2
    return 1
  fi
  local errors
  errors=$(printf '%s\n' "$stderr" | grep -v '^olot-filter: warning: ' | grep -v '^$' || true)
  if [[ -z $errors ]]; then
    echo "exit $code without an error line on stderr:" >&2
    printf '%s\n' "$stderr" >&2
    return 1
  fi
  if printf '%s\n' "$errors" | grep -qv '^olot-filter: '; then
    echo "stderr lines that do not start with 'olot-filter: ':" >&2
    printf '%s\n' "$errors" | grep -v '^olot-filter: ' | head -5 >&2
    return 1
  fi
}

# rel_assert_ok — the last rel_run succeeded, with nothing but warnings and
# notes on stderr, each starting "olot-filter: ".
rel_assert_ok() {
  if [[ $status -ne 0 ]]; then
    echo "expected exit 0, got $status; stderr:" >&2
    printf '%s\n' "$stderr" | head -20 >&2
    return 1
  fi
  if [[ -n $stderr ]] && printf '%s\n' "$stderr" | grep -qv '^olot-filter: '; then
    echo "stderr lines that do not start with 'olot-filter: ':" >&2
    printf '%s\n' "$stderr" | grep -v '^olot-filter: ' | head -5 >&2
    return 1
  fi
}

# rel_gen ARGS... — the layout generator (written once per file).
rel_gen() {
  python3 "$BATS_FILE_TMPDIR/gen.py" "$@"
}

rel_write_generator() {
  cat >"$BATS_FILE_TMPDIR/gen.py" <<'PY'
"""Layout tars for reliability.bats. Usage: gen.py VARIANT OUT [ARGS]  (OUT "-" = stdout)."""
import gzip, hashlib, io, json, sys, tarfile

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYOUT = b'{"imageLayoutVersion":"1.0.0"}'


def dumps(o):
    return json.dumps(o, separators=(",", ":")).encode()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def small_tar(name, content):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        t.addfile(info, io.BytesIO(content))
    return buf.getvalue()


class Writer:
    """Streams a PAX tar: entries in the order they are put."""

    def __init__(self, out):
        self.f = sys.stdout.buffer if out == "-" else open(out, "wb")
        self.t = tarfile.open(fileobj=self.f, mode="w|", format=tarfile.PAX_FORMAT)

    def put(self, name, data, size=None):
        info = tarfile.TarInfo(name)
        info.mode = 0o644
        if isinstance(data, (bytes, bytearray)):
            info.size = len(data)
            data = io.BytesIO(data)
        else:
            info.size = size
        self.t.addfile(info, data)

    def blob(self, data):
        self.put("blobs/sha256/" + sha(data)[7:], data)
        return {"digest": sha(data), "size": len(data)}

    def close(self):
        self.t.close()
        if self.f is not sys.stdout.buffer:
            self.f.close()


def config(arch, diff_ids, **extra):
    c = {"architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/sh"]},
         "rootfs": {"type": "layers", "diff_ids": diff_ids},
         "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "ADD"} for _ in diff_ids]}
    c.update(extra)
    return dumps(c)


def manifest(cfg_desc, layer_descs):
    return dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": dict(mediaType=OCI_CONFIG, **cfg_desc),
                  "layers": layer_descs})


def index(*descs):
    return dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(descs)})


def image(w, arch, layer_raw, gz=False, cfg_extra=None):
    """Writes layer, config, manifest blobs; returns the manifest descriptor."""
    data = gzip.compress(layer_raw, mtime=0) if gz else layer_raw
    ld = dict(mediaType=OCI_LAYER_GZ if gz else OCI_LAYER, **w.blob(data))
    cd = w.blob(config(arch, [sha(layer_raw)], **(cfg_extra or {})))
    md = dict(mediaType=OCI_MANIFEST, **w.blob(manifest(cd, [ld])))
    md["platform"] = {"os": "linux", "architecture": arch}
    return md


def multiarch(out, order="index-first"):
    """index.json -> OCI index -> 2 manifests, 2 configs, 2 small layers.
    index-first: index.json and oci-layout first, so every later entry is needed."""
    w = Writer(out)
    body = []

    class Later:
        def put(self, name, data, size=None):
            body.append((name, data))

        def blob(self, data):
            self.put("blobs/sha256/" + sha(data)[7:], data)
            return {"digest": sha(data), "size": len(data)}

    later = Later()
    a = image(later, "amd64", small_tar("etc/amd64.txt", b"amd64\n" * 100))
    b = image(later, "arm64", small_tar("etc/arm64.txt", b"arm64\n" * 100), gz=True)
    i = dict(mediaType=OCI_INDEX, **later.blob(index(a, b)))
    i["annotations"] = {"org.opencontainers.image.ref.name": "multi"}
    root = index(i)
    if order == "index-first":
        w.put("index.json", root)
        w.put("oci-layout", LAYOUT)
    for name, data in body:
        w.put(name, data)
    if order != "index-first":
        w.put("oci-layout", LAYOUT)
        w.put("index.json", root)
    w.close()


def single(out, cfg_bytes=None, manifest_bytes=None, layer=None, descriptor_size=None, extra_blobs=()):
    """One image; the config and/or manifest bytes can be given as they are."""
    w = Writer(out)
    layer = layer if layer is not None else small_tar("etc/base.txt", b"base\n")
    ld = dict(mediaType=OCI_LAYER, **w.blob(layer))
    for b in extra_blobs:
        w.blob(b)
    cd = w.blob(cfg_bytes if cfg_bytes is not None else config("amd64", [sha(layer)]))
    m = manifest_bytes if manifest_bytes is not None else manifest(cd, [ld])
    md = dict(mediaType=OCI_MANIFEST, **w.blob(m))
    if descriptor_size is not None:
        md["size"] = descriptor_size
    w.put("oci-layout", LAYOUT)
    w.put("index.json", index(md))
    w.close()


class Zeros(io.RawIOBase):
    """n zero bytes, read in pieces: a layer that never exists on disk."""

    def __init__(self, n):
        self.left = n

    def readable(self):
        return True

    def readinto(self, b):
        k = min(len(b), self.left)
        b[:k] = bytes(k)
        self.left -= k
        return k


def zeros_digest(n):
    h = hashlib.sha256()
    chunk = bytes(1 << 20)
    while n:
        k = min(n, len(chunk))
        h.update(chunk[:k])
        n -= k
    return "sha256:" + h.hexdigest()


def big_layer(out, n):
    """One image whose only layer is n zero bytes, streamed."""
    n = int(n)
    d = zeros_digest(n)
    w = Writer(out)
    w.put("oci-layout", LAYOUT)
    w.put("blobs/sha256/" + d[7:], io.BufferedReader(Zeros(n), 1 << 20), size=n)
    cd = w.blob(config("amd64", [d]))
    md = dict(mediaType=OCI_MANIFEST, **w.blob(manifest(cd, [{"mediaType": OCI_LAYER, "digest": d, "size": n}])))
    w.put("index.json", index(md))
    w.close()


def ustar_header(name, size):
    """A plain ustar header, built by hand: tarfile takes ~40 us an entry,
    which made a million-entry input take longer to make than to filter."""
    h = bytearray(512)
    h[0:len(name)] = name.encode()
    h[100:108] = b"0000644\0"
    h[108:116] = h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size
    h[136:148] = b"00000000000\0"
    h[148:156] = b" " * 8
    h[156:157] = b"0"
    h[257:265] = b"ustar\x0000"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def many_entries(out, n):
    """A small image plus n tiny unreferenced blobs (legal pass-through)."""
    w = Writer(out)
    # Written before tarfile writes anything, so the order is kept.
    for i in range(int(n)):
        data = b"tiny %d\n" % i
        w.f.write(ustar_header("blobs/sha256/" + sha(data)[7:], len(data)) + data + bytes(-len(data) % 512))
    md = image(w, "amd64", small_tar("etc/base.txt", b"base\n"))
    w.put("oci-layout", LAYOUT)
    w.put("index.json", index(md))
    w.close()


def index_chain(out, depth):
    """index.json -> index 1 -> index 2 -> ... -> index depth -> manifest.
    A true cycle (A lists B, B lists A) cannot be built: A's digest would have
    to be known before A's bytes, which hold B's digest, which holds A's. So
    this is the hostile case that can exist: a very deep, acyclic chain."""
    w = Writer(out)
    d = image(w, "amd64", small_tar("etc/base.txt", b"base\n"))
    for _ in range(int(depth)):
        d = dict(mediaType=OCI_INDEX, **w.blob(index(d)))
    w.put("oci-layout", LAYOUT)
    w.put("index.json", index(d))
    w.close()


def main():
    variant, out, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if variant == "multiarch":
        multiarch(out, *args)
    elif variant == "single":
        single(out)
    elif variant == "deep-manifest":
        depth = int(args[0])
        single(out, manifest_bytes=b'{"a":' * depth + b"1" + b"}" * depth)
    elif variant == "long-number-config":
        n = int(args[0])
        layer = small_tar("etc/base.txt", b"base\n")
        cfg = config("amd64", [sha(layer)])[:-1] + b',"x-long-number":' + b"1" * n + b"}"
        single(out, cfg_bytes=cfg, layer=layer)
    elif variant == "long-number-size":
        n = int(args[0])
        layer = small_tar("etc/base.txt", b"base\n")
        cd = {"digest": sha(config("amd64", [sha(layer)])), "size": 0}
        m = (b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","config":{"mediaType":"' +
             OCI_CONFIG.encode() + b'","digest":"' + cd["digest"].encode() + b'","size":' + b"9" * n +
             b'},"layers":[{"mediaType":"' + OCI_LAYER.encode() + b'","digest":"' + sha(layer).encode() +
             b'","size":' + str(len(layer)).encode() + b"}]}")
        single(out, manifest_bytes=m, layer=layer)
    elif variant == "manifest-size-mismatch":
        single(out, descriptor_size=7)
    elif variant == "layer-size-mismatch":
        layer = small_tar("etc/base.txt", b"base\n")
        cfg = config("amd64", [sha(layer)])
        m = manifest({"digest": sha(cfg), "size": len(cfg)},
                     [{"mediaType": OCI_LAYER, "digest": sha(layer), "size": len(layer) + 1}])
        single(out, cfg_bytes=cfg, manifest_bytes=m, layer=layer)
    elif variant == "big-config":
        layer = small_tar("etc/base.txt", b"base\n")
        single(out, cfg_bytes=config("amd64", [sha(layer)], padding="p" * int(args[0])), layer=layer)
    elif variant == "many-json":
        count, size = int(args[0]), int(args[1])
        blobs = []
        for i in range(count):
            head = b'{"n":%d,"pad":"' % i
            blobs.append(head + b"x" * (size - len(head) - 2) + b'"}')
        single(out, extra_blobs=blobs)
    elif variant == "big-layer":
        big_layer(out, args[0])
    elif variant == "many-entries":
        many_entries(out, args[0])
    elif variant == "index-chain":
        index_chain(out, args[0])
    else:
        sys.exit("unknown variant " + variant)


main()
PY
}

# rel_entries_end TAR — the offset where TAR's end-of-archive blocks start.
rel_entries_end() {
  python3 - "$1" <<'PY'
import sys, tarfile
with tarfile.open(sys.argv[1]) as t:
    t.getmembers()
    print(t.offset)
PY
}

# rel_gen_rss VARIANT ARG -- FILTER_ARGS... — gen.py VARIANT - ARG piped
# into olot-filter FILTER_ARGS >/dev/null under /usr/bin/time -v (which then
# measures olot-filter alone); prints "GEN_STATUS FILTER_STATUS PEAK_RSS_KIB".
rel_gen_rss() {
  local variant=$1 arg=$2
  shift 3
  local log=$BATS_TEST_TMPDIR/time.log
  local -a st
  set +e
  python3 "$BATS_FILE_TMPDIR/gen.py" "$variant" - "$arg" |
    /usr/bin/time -v -o "$log" "$OLOT_FILTER" "$@" >/dev/null 2>"$BATS_TEST_TMPDIR/stderr"
  st=("${PIPESTATUS[@]}")
  set -e
  echo "${st[0]} ${st[1]} $(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")"
}

# rel_time CMD... — runs CMD under /usr/bin/time -v; prints "STATUS PEAK_RSS_KIB".
rel_time() {
  local log=$BATS_TEST_TMPDIR/time.log rc=0
  /usr/bin/time -v -o "$log" "$@" 2>"$BATS_TEST_TMPDIR/stderr" || rc=$?
  echo "$rc $(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")"
}

# rel_gzip_cuts GZ TAR_ENTRIES_END STEP — for cuts of GZ every STEP bytes:
# "N DECOMPRESSED_LENGTH_OF_THE_CUT" lines.
rel_gzip_cuts() {
  python3 - "$@" <<'PY'
import sys, zlib
data = open(sys.argv[1], "rb").read()
step = int(sys.argv[3])
for n in list(range(0, len(data), step)) + [len(data) - 8, len(data) - 4, len(data) - 1]:
    d = zlib.decompressobj(wbits=31)
    try:
        out = d.decompress(data[:n])
    except zlib.error:
        out = b""
    print(n, len(out))
PY
}

rel_need_time() {
  [[ -x /usr/bin/time ]] || skip "/usr/bin/time is not installed (apt-get install time)"
}
