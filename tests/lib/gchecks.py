#!/usr/bin/env python3
"""gchecks.py -- the global output checks G1-G8 of the bug-case tests, as one
reusable checker of an olot-filter output tar.

  gchecks.py OUT.tar [--input IN.tar] [--ref NAME] [--model NAME=FILE]...
             [--only G1,G2,...] [--skip G8,...] [--no-unpack] [--no-config-inspect]

  G1  every blobs/<alg>/<hex> entry hashes (sha256/sha512) to its name, and
      no other name lives under blobs/
  G2  walking from index.json (indexes, manifests, configs, layers, subject),
      every descriptor resolves to a blob of the output whose length is
      .size; a layer with `urls` may be absent; no vnd.docker.reference.digest
      names a manifest that is not in the output
  G3  every index/manifest reached: the descriptor's mediaType equals the
      document's own mediaType, and both are OCI types; no descriptor
      reached carries a Docker media type
  G4  every modified image manifest (annotation io.opendatahub.author=olot):
      len(layers) == len(config.rootfs.diff_ids) == history entries without
      "empty_layer": true
  G5  every added layer (annotation olot.layer.content.inlayerpath) of a
      modified manifest: its uncompressed bytes hash to the diff_id at the
      same position, its media type matches its bytes, and added layers
      come after every base layer
  G6  tar hygiene: GNU tar lists it; no duplicate names; exactly one
      index.json and one oci-layout ({"imageLayoutVersion":"1.0.0"}); no name
      starts with "./" or "/"; index.json is the last file entry
  G7  no stale JSON: no index, manifest or config of the input graph that the
      output graph no longer reaches is in the output (the configs and layers
      of dropped attestations/referrers may stay, as may input blobs that no
      index.json reached in the first place); without --input, no JSON
      document that looks like an index, manifest or config is unreachable
  G8  consumers: `skopeo inspect --raw oci-archive:OUT:REF` prints the
      document index.json names; for an index, `skopeo inspect` with each
      child's platform sees that child's platform and layers; for a single manifest `umoci unpack
      --rootless` works (unless --no-unpack) and each --model NAME=FILE has
      the same bytes as rootfs/models/NAME.  --no-config-inspect leaves out
      the `skopeo inspect` calls that read the config (skopeo 1.9 refuses
      configs over 4 MiB), --no-unpack leaves out umoci

Prints "FAIL Gn: what" lines and exits 1 if a check failed, else prints
"ok: G1 ... G8" and exits 0.  Usage errors exit 64.  REF defaults to latest.
"""
import argparse
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = {OCI_INDEX, DOCKER_LIST}
MANIFEST_TYPES = {OCI_MANIFEST, DOCKER_MANIFEST}
REF_KEY = "org.opencontainers.image.ref.name"
INLAYER_KEY = "olot.layer.content.inlayerpath"
HEX_LEN = {"sha256": 64, "sha512": 128}
BLOB_RE = re.compile(r"^blobs/(sha256|sha512)/([0-9a-f]+)$")
JSON_LIMIT = 64 << 20
CHUNK = 1 << 20
ALL = ["G1", "G2", "G3", "G4", "G5", "G6", "G7", "G8"]


class Checker:
    def __init__(self, wanted):
        self.wanted = wanted
        self.failures = []

    def fail(self, check, message):
        if check in self.wanted:
            self.failures.append("FAIL %s: %s" % (check, message))


def norm(name):
    parts = [p for p in name.split("/") if p not in ("", ".")]
    return "/".join(parts)


class TarView:
    """One pass over a layout tar: names in order, each blob's hash and size,
    the bytes of the JSON-looking ones (and of index.json, oci-layout)."""

    def __init__(self, path, normalise=False):
        self.path = path
        self.names = []   # every member name, as stored
        self.files = []   # regular file names, in order
        self.blobs = {}   # "alg:hex" -> {"size", "actual", "head", "member"}
        self.docs = {}    # "alg:hex" -> bytes (JSON-looking blobs)
        self.root = {}    # index.json / oci-layout / other root file -> bytes
        self.bad_names = []
        self.error = None
        try:
            self.tar = tarfile.open(path, "r:*")
            for m in self.tar:
                self._take(m, normalise)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as e:
            self.error = str(e)

    def _take(self, m, normalise):
        self.names.append(m.name)
        name = norm(m.name) if normalise else m.name
        if not m.isfile():
            return
        self.files.append(name)
        match = BLOB_RE.match(name)
        f = self.tar.extractfile(m)
        if match:
            alg, hexd = match.groups()
            h = hashlib.new(alg)
            head = b""
            keep = []
            kept = 0
            while True:
                chunk = f.read(CHUNK)
                if not chunk:
                    break
                h.update(chunk)
                if len(head) < 4:
                    head += chunk[:4 - len(head)]
                if m.size <= JSON_LIMIT:
                    keep.append(chunk)
                    kept += len(chunk)
            digest = alg + ":" + hexd
            self.blobs[digest] = {"size": m.size, "actual": alg + ":" + h.hexdigest(), "head": head,
                                  "member": m, "hexlen_ok": len(hexd) == HEX_LEN[alg]}
            data = b"".join(keep)
            if data.lstrip()[:1] == b"{":
                self.docs[digest] = data
        elif name.startswith("blobs/"):
            self.bad_names.append(name)
            f.read()
        else:
            self.root[name] = f.read() if m.size <= JSON_LIMIT else None

    def blob_bytes(self, digest):
        """The whole blob (read again from the tar)."""
        m = self.blobs[digest]["member"]
        return self.tar.extractfile(m)


def load(data):
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def descriptors_of(doc):
    """(kind, descriptor) of every descriptor a document holds."""
    out = []
    if not isinstance(doc, dict):
        return out
    for d in doc.get("manifests") or []:
        out.append(("child", d))
    if isinstance(doc.get("config"), dict):
        out.append(("config", doc["config"]))
    for d in doc.get("layers") or []:
        out.append(("layer", d))
    if isinstance(doc.get("subject"), dict):
        out.append(("subject", doc["subject"]))
    return out


class Graph:
    """The documents reachable from index.json, as a consumer walks them."""

    def __init__(self, view, index_bytes):
        self.view = view
        self.reachable = set()     # every digest a descriptor names (subject excluded)
        self.docs = {}             # digest -> parsed index/manifest
        self.kinds = {}            # digest -> "index" | "manifest" | "config" | "layer" | "other"
        self.edges = []            # (parent, kind, descriptor)
        self.attestation_only = set()
        self.root = load(index_bytes) if index_bytes is not None else None
        self.manifest_info = []    # (digest, manifest doc, config doc or None)
        via_normal = set()
        via_att = set()
        if isinstance(self.root, dict):
            for d in self.root.get("manifests") or []:
                self._walk(d, "index.json", "child", False, via_normal, via_att)
        self.attestation_only = via_att - via_normal

    def _doc(self, digest):
        data = self.view.docs.get(digest)
        return load(data) if data is not None else None

    def _walk(self, d, parent, kind, under_att, via_normal, via_att):
        if not isinstance(d, dict):
            return
        self.edges.append((parent, kind, d))
        digest = d.get("digest")
        if not isinstance(digest, str) or kind == "subject":
            return
        att = under_att or (kind == "child" and (
            (d.get("annotations") or {}).get("vnd.docker.reference.type") == "attestation-manifest"))
        doc = self._doc(digest)
        if att is False and isinstance(doc, dict) and "subject" in doc and kind == "child":
            att = True
        (via_att if att else via_normal).add(digest)
        if digest in self.reachable:
            return
        self.reachable.add(digest)
        mt = d.get("mediaType")
        own = doc.get("mediaType") if isinstance(doc, dict) else None
        if kind == "child":
            if mt in INDEX_TYPES or (not mt and own in INDEX_TYPES) or (mt in MANIFEST_TYPES and own in INDEX_TYPES):
                self.kinds[digest] = "index"
            elif mt in MANIFEST_TYPES or (not mt and own in MANIFEST_TYPES) or (mt in INDEX_TYPES and own in MANIFEST_TYPES):
                self.kinds[digest] = "manifest"
            else:
                self.kinds[digest] = "other"
                return
        else:
            self.kinds[digest] = kind
            return
        if not isinstance(doc, dict):
            return
        self.docs[digest] = doc
        if self.kinds[digest] == "manifest":
            cfg = None
            c = doc.get("config")
            if isinstance(c, dict) and isinstance(c.get("digest"), str):
                cfg = self._doc(c["digest"])
            self.manifest_info.append((digest, doc, cfg))
        for k, child in descriptors_of(doc):
            self._walk(child, digest, k, att, via_normal, via_att)


def check_g1(ck, out):
    for digest, b in out.blobs.items():
        if not b["hexlen_ok"]:
            ck.fail("G1", "blob name with a wrong-length digest: blobs/%s" % digest.replace(":", "/"))
        elif b["actual"] != digest:
            ck.fail("G1", "blobs/%s holds content %s" % (digest.replace(":", "/"), b["actual"]))
    for name in out.bad_names:
        ck.fail("G1", "file under blobs/ that is not blobs/<alg>/<hex>: %s" % name)


def check_g2(ck, out, g):
    present = set(out.blobs)
    for parent, kind, d in g.edges:
        digest = d.get("digest")
        if not isinstance(digest, str) or not isinstance(d.get("size"), int):
            ck.fail("G2", "descriptor without digest/size in %s: %s" % (parent, json.dumps(d)[:200]))
            continue
        if digest not in present:
            if kind == "layer" and d.get("urls"):
                continue
            ck.fail("G2", "%s descriptor in %s names %s, which is not in the output" % (kind, parent, digest))
            continue
        if out.blobs[digest]["size"] != d["size"]:
            ck.fail("G2", "%s descriptor in %s says size %d, blob %s has %d" %
                    (kind, parent, d["size"], digest, out.blobs[digest]["size"]))
        target = (d.get("annotations") or {}).get("vnd.docker.reference.digest")
        if target and target not in present:
            ck.fail("G2", "entry %s in %s refers (vnd.docker.reference.digest) to %s, not in the output" %
                    (digest, parent, target))


def check_g3(ck, g):
    for parent, kind, d in g.edges:
        mt = d.get("mediaType")
        digest = d.get("digest")
        if isinstance(mt, str) and mt.startswith("application/vnd.docker."):
            ck.fail("G3", "%s descriptor %s in %s has the Docker media type %s" % (kind, digest, parent, mt))
        if kind in ("child", "subject") and g.kinds.get(digest) in ("index", "manifest") and digest in g.docs:
            own = g.docs[digest].get("mediaType")
            want = OCI_INDEX if g.kinds[digest] == "index" else OCI_MANIFEST
            if mt != own:
                ck.fail("G3", "descriptor in %s says %s, document %s says %s" % (parent, mt, digest, own))
            if own != want:
                ck.fail("G3", "document %s has mediaType %s, want %s" % (digest, own, want))


def modified(doc):
    return (doc.get("annotations") or {}).get("io.opendatahub.author") == "olot"


def check_g4(ck, g):
    for digest, doc, cfg in g.manifest_info:
        if not modified(doc):
            continue
        if not isinstance(cfg, dict):
            ck.fail("G4", "modified manifest %s: config not readable as JSON" % digest)
            continue
        layers = doc.get("layers") or []
        diff_ids = (cfg.get("rootfs") or {}).get("diff_ids") or []
        hist = [h for h in (cfg.get("history") or []) if not (isinstance(h, dict) and h.get("empty_layer") is True)]
        if not (len(layers) == len(diff_ids) == len(hist)):
            ck.fail("G4", "modified manifest %s: %d layers, %d diff_ids, %d non-empty history entries" %
                    (digest, len(layers), len(diff_ids), len(hist)))


def uncompressed_digest(out, digest, compression):
    f = out.blob_bytes(digest)
    h = hashlib.sha256()
    if compression == "gzip":
        with gzip.GzipFile(fileobj=f) as z:
            for chunk in iter(lambda: z.read(CHUNK), b""):
                h.update(chunk)
    elif compression == "zstd":
        p = subprocess.Popen(["zstd", "-q", "-d", "-c"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        import threading
        def feed():
            for chunk in iter(lambda: f.read(CHUNK), b""):
                p.stdin.write(chunk)
            p.stdin.close()
        t = threading.Thread(target=feed)
        t.start()
        for chunk in iter(lambda: p.stdout.read(CHUNK), b""):
            h.update(chunk)
        t.join()
        if p.wait() != 0:
            raise ValueError("zstd -d failed")
    else:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def sniff(head):
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    return "none"


def check_g5(ck, out, g):
    for digest, doc, cfg in g.manifest_info:
        if not modified(doc) or not isinstance(cfg, dict):
            continue
        layers = doc.get("layers") or []
        diff_ids = (cfg.get("rootfs") or {}).get("diff_ids") or []
        seen_added = False
        for i, layer in enumerate(layers):
            added = INLAYER_KEY in (layer.get("annotations") or {})
            if not added:
                if seen_added:
                    ck.fail("G5", "manifest %s: base layer %d comes after an added layer" % (digest, i))
                continue
            seen_added = True
            ld = layer.get("digest")
            if ld not in out.blobs:
                ck.fail("G5", "manifest %s: added layer %d (%s) is not in the output" % (digest, i, ld))
                continue
            mt = layer.get("mediaType", "")
            want = "gzip" if mt.endswith("+gzip") else "zstd" if mt.endswith("+zstd") else "none"
            got = sniff(out.blobs[ld]["head"])
            if got != want:
                ck.fail("G5", "manifest %s: added layer %s typed %s holds %s bytes" % (digest, ld, mt, got))
                continue
            try:
                u = uncompressed_digest(out, ld, want)
            except Exception as e:  # noqa: BLE001 - a corrupt stream is a failed check
                ck.fail("G5", "manifest %s: added layer %s does not decompress: %s" % (digest, ld, e))
                continue
            if i >= len(diff_ids) or diff_ids[i] != u:
                ck.fail("G5", "manifest %s: added layer %d uncompressed is %s, diff_ids[%d] is %s" %
                        (digest, i, u, i, diff_ids[i] if i < len(diff_ids) else "(missing)"))


def check_g6(ck, out):
    if out.error:
        ck.fail("G6", "Python tarfile cannot read the output: %s" % out.error)
    r = subprocess.run(["tar", "-tf", out.path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        ck.fail("G6", "GNU tar -tf failed: %s" % r.stderr.decode(errors="replace").strip()[:300])
    names = r.stdout.decode(errors="replace").splitlines()
    seen = set()
    for n in names:
        if n in seen:
            ck.fail("G6", "duplicate name %s" % n)
        seen.add(n)
        if n.startswith("./") or n.startswith("/"):
            ck.fail("G6", "name starts with ./ or /: %s" % n)
    for special in ("index.json", "oci-layout"):
        c = names.count(special)
        if c != 1:
            ck.fail("G6", "%d %s entries (want exactly one)" % (c, special))
    if out.files and out.files[-1] != "index.json":
        ck.fail("G6", "the last file entry is %s, not index.json" % out.files[-1])
    if not out.files:
        ck.fail("G6", "no file entries")
    layout = out.root.get("oci-layout")
    if layout is not None and load(layout) != {"imageLayoutVersion": "1.0.0"}:
        ck.fail("G6", "oci-layout is %r" % layout[:100])


def looks_like_document(doc):
    if not isinstance(doc, dict):
        return False
    mt = doc.get("mediaType")
    if mt in INDEX_TYPES or mt in MANIFEST_TYPES:
        return True
    return "manifests" in doc or ("config" in doc and "layers" in doc) or "rootfs" in doc


def check_g7(ck, out, g, inp):
    unreachable = set(out.blobs) - g.reachable
    if inp is None:
        for digest in sorted(unreachable):
            if digest in out.docs and looks_like_document(load(out.docs[digest])):
                ck.fail("G7", "unreachable document %s left in the output" % digest)
        return
    gi = Graph(inp, inp.root.get("index.json"))
    for digest in sorted(unreachable):
        if digest in gi.reachable:
            kind = gi.kinds.get(digest)
            if kind in ("index", "manifest") or (kind == "config" and digest not in gi.attestation_only):
                ck.fail("G7", "stale %s %s of the input (no longer reachable) is in the output" % (kind, digest))
        elif digest not in inp.blobs and digest in out.docs and looks_like_document(load(out.docs[digest])):
            ck.fail("G7", "new document %s is not reachable from index.json" % digest)


def run(cmd, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=3600, **kw)


def check_g8(ck, out, g, ref, models, unpack, config_inspect=True):
    if shutil.which("skopeo") is None:
        ck.fail("G8", "skopeo is not installed")
        return
    root = g.root if isinstance(g.root, dict) else {}
    entries = [d for d in root.get("manifests") or []
               if isinstance(d, dict) and (d.get("annotations") or {}).get(REF_KEY) == ref]
    if len(entries) != 1:
        ck.fail("G8", "index.json has %d entries with ref name %s (want 1)" % (len(entries), ref))
        return
    entry = entries[0]
    target = entry.get("digest")
    src = "oci-archive:%s:%s" % (os.path.abspath(out.path), ref)
    r = run(["skopeo", "inspect", "--raw", src])
    if r.returncode != 0:
        ck.fail("G8", "skopeo inspect --raw %s: %s" % (src, r.stderr.decode(errors="replace").strip()[:400]))
        return
    if "sha256:" + hashlib.sha256(r.stdout).hexdigest() != target and target in out.blobs:
        ck.fail("G8", "skopeo inspect --raw does not print the document %s" % target)
    kind = g.kinds.get(target)
    if kind == "index":
        for child in g.docs[target].get("manifests") or []:
            p = child.get("platform") or {}
            if not p.get("os") or p.get("os") == "unknown" or g.kinds.get(child.get("digest")) != "manifest":
                continue
            cmd = ["skopeo", "--override-os", p["os"], "--override-arch", p.get("architecture", "")]
            if p.get("variant"):
                cmd += ["--override-variant", p["variant"]]
            if not config_inspect:
                continue
            r = run(cmd + ["inspect", src])
            if r.returncode != 0:
                ck.fail("G8", "skopeo inspect of %s/%s: %s" % (p["os"], p.get("architecture"),
                                                               r.stderr.decode(errors="replace").strip()[:400]))
                continue
            info = load(r.stdout) or {}
            want_layers = [l.get("digest") for l in g.docs[child["digest"]].get("layers") or []]
            if (info.get("Os"), info.get("Architecture"), info.get("Layers")) != (p["os"], p.get("architecture"), want_layers):
                ck.fail("G8", "skopeo inspect for %s/%s sees %s/%s with layers %s, the index's child %s has %s" %
                        (p["os"], p.get("architecture"), info.get("Os"), info.get("Architecture"),
                         info.get("Layers"), child.get("digest"), want_layers))
        return
    r = run(["skopeo", "inspect", src]) if config_inspect else None
    if r is None:
        pass
    elif r.returncode != 0:
        ck.fail("G8", "skopeo inspect %s: %s" % (src, r.stderr.decode(errors="replace").strip()[:400]))
    elif (load(r.stdout) or {}).get("Digest") != target:
        ck.fail("G8", "skopeo inspect reports digest %s, index.json names %s" % ((load(r.stdout) or {}).get("Digest"), target))
    if not unpack:
        return
    if shutil.which("umoci") is None:
        ck.fail("G8", "umoci is not installed")
        return
    tmp = tempfile.mkdtemp(prefix="gchecks.")
    try:
        layout = os.path.join(tmp, "o")
        os.mkdir(layout)
        r = run(["tar", "-xf", os.path.abspath(out.path), "-C", layout])
        if r.returncode != 0:
            ck.fail("G8", "tar -xf: %s" % r.stderr.decode(errors="replace").strip()[:300])
            return
        bundle = os.path.join(tmp, "b")
        r = run(["umoci", "unpack", "--rootless", "--image", "%s:%s" % (layout, ref), bundle])
        if r.returncode != 0:
            ck.fail("G8", "umoci unpack --rootless: %s" % r.stderr.decode(errors="replace").strip()[-600:])
            return
        for name, path in models:
            got = os.path.join(bundle, "rootfs", "models", name)
            if not os.path.isfile(got):
                ck.fail("G8", "umoci unpack: rootfs/models/%s is missing" % name)
            elif run(["cmp", "-s", got, path]).returncode != 0:
                ck.fail("G8", "umoci unpack: rootfs/models/%s differs from %s" % (name, path))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    ap = argparse.ArgumentParser(prog="gchecks.py", description="G1-G8 checks of an olot-filter output tar")
    ap.add_argument("out")
    ap.add_argument("--input", help="the input tar (for G7: which documents were replaced)")
    ap.add_argument("--ref", default="latest")
    ap.add_argument("--model", action="append", default=[], metavar="NAME=FILE")
    ap.add_argument("--only", default=",".join(ALL))
    ap.add_argument("--skip", default="")
    ap.add_argument("--no-unpack", action="store_true")
    ap.add_argument("--no-config-inspect", action="store_true")
    try:
        a = ap.parse_args(argv[1:])
    except SystemExit as e:
        return 64 if e.code else 0
    wanted = [c for c in a.only.split(",") if c] 
    skip = set(c for c in a.skip.split(",") if c)
    bad = [c for c in wanted + list(skip) if c not in ALL]
    if bad:
        print("gchecks.py: unknown check(s): %s" % " ".join(bad), file=sys.stderr)
        return 64
    wanted = [c for c in wanted if c not in skip]
    models = []
    for m in a.model:
        if "=" not in m:
            print("gchecks.py: --model wants NAME=FILE", file=sys.stderr)
            return 64
        models.append(tuple(m.split("=", 1)))
    if not os.path.isfile(a.out):
        print("gchecks.py: no such file: %s" % a.out, file=sys.stderr)
        return 64

    ck = Checker(wanted)
    out = TarView(a.out)
    inp = TarView(a.input, normalise=True) if a.input else None
    if inp is not None and inp.error:
        print("gchecks.py: cannot read --input %s: %s" % (a.input, inp.error), file=sys.stderr)
        return 64
    index = out.root.get("index.json")
    g = Graph(out, index)
    if index is None or not isinstance(g.root, dict):
        for c in ("G2", "G3", "G8"):
            ck.fail(c, "no readable index.json in the output")
    check_g1(ck, out)
    check_g2(ck, out, g)
    check_g3(ck, g)
    check_g4(ck, g)
    check_g5(ck, out, g)
    check_g6(ck, out)
    check_g7(ck, out, g, inp)
    if "G8" in wanted and index is not None:
        check_g8(ck, out, g, a.ref, models, not a.no_unpack, not a.no_config_inspect)
    for f in ck.failures:
        print(f)
    if ck.failures:
        return 1
    print("ok: " + " ".join(wanted))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
