#!/usr/bin/env python3
"""Writes the seed corpora for the libFuzzer targets (src/*_fuzz.cpp).

    python3 tests/fuzz/make-seeds.py        # rewrites tests/fuzz/pipeline_fuzz/ and tests/fuzz/json_fuzz/

Every seed is deterministic (mtime 0, uid/gid 0, compact JSON), so running
this again gives the same files. pipeline_fuzz seeds are small OCI layout
tars (raw mode) and OLOTDOCS documents (structured mode: the harness builds
the tar and fills in digests, see src/pipeline_fuzz.cpp); json_fuzz seeds are
JSON documents.
"""
import base64
import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
D_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
D_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
D_CONFIG = "application/vnd.docker.container.image.v1+json"
D_LAYER_GZ = "application/vnd.docker.image.rootfs.diff.tar.gzip"
IN_TOTO = "application/vnd.in-toto+json"


def dumps(o):
    return json.dumps(o, separators=(",", ":")).encode()


def sha(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def layer_tar(name, content):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        info.mode = 0o644
        t.addfile(info, io.BytesIO(content))
    return trim(buf.getvalue())


def trim(tar):
    """Drops tarfile's record padding: the last entry, then the two zero blocks."""
    end = len(tar.rstrip(b"\0"))
    end = (end + 511) // 512 * 512
    return tar[:end] + b"\0" * 1024


class Layout:
    def __init__(self):
        self.blobs = {}  # digest -> bytes, in insertion order
        self.extras = {}

    def add(self, data):
        d = sha(data)
        self.blobs[d] = data
        return {"digest": d, "size": len(data)}

    def image(self, arch, layer_bytes, layer_type=OCI_LAYER, manifest_type=OCI_MANIFEST, config_type=OCI_CONFIG,
              diff_id=None, history=True, extra=None):
        raw = gzip.decompress(layer_bytes) if layer_bytes[:2] == b"\x1f\x8b" else layer_bytes
        cfg = {"architecture": arch, "os": "linux", "config": {"Cmd": ["/bin/sh"]},
               "rootfs": {"type": "layers", "diff_ids": [diff_id or sha(raw)]}}
        if history:
            cfg["history"] = [{"created": "2024-01-01T00:00:00Z", "created_by": "ADD base.txt"}]
        c = self.add(dumps(cfg))
        l = self.add(layer_bytes)
        m = {"schemaVersion": 2, "mediaType": manifest_type, "config": dict(mediaType=config_type, **c),
             "layers": [dict(mediaType=layer_type, **l)]}
        if extra:
            m.update(extra)
        return dict(mediaType=manifest_type, **self.add(dumps(m)))

    def tar(self, index, order="blobs-first", fmt=tarfile.PAX_FORMAT, dirs=False, dot=False, layout=True):
        buf = io.BytesIO()
        p = "./" if dot else ""
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as t:
            def put(name, data):
                info = tarfile.TarInfo(p + name)
                info.size = len(data)
                info.mode = 0o644
                t.addfile(info, io.BytesIO(data))

            def put_dir(name):
                info = tarfile.TarInfo(p + name)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                t.addfile(info)

            idx = dumps(index)
            if order == "index-first":
                put("index.json", idx)
            if dirs:
                put_dir("blobs")
                put_dir("blobs/sha256")
            for d, data in self.blobs.items():
                put("blobs/sha256/" + d.split(":")[1], data)
            for name, data in self.extras.items():
                put(name, data)
            if layout:
                put("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
            if order != "index-first":
                put("index.json", idx)
        return trim(buf.getvalue())


def root(*manifests, **kw):
    return {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(manifests), **kw}


def pipeline_seeds():
    seeds = {}
    base = layer_tar("etc/base.txt", b"base\n")
    base_gz = gzip.compress(base, mtime=0)

    # Single manifest, uncompressed layer, index.json last.
    lay = Layout()
    m = lay.image("amd64", base)
    m["annotations"] = {"org.opencontainers.image.ref.name": "latest"}
    seeds["single-manifest.tar"] = lay.tar(root(m))
    seeds["single-manifest-index-first-ustar-dirs.tar"] = lay.tar(root(m), order="index-first",
                                                                  fmt=tarfile.USTAR_FORMAT, dirs=True, dot=True)
    seeds["single-manifest-gnu-no-oci-layout.tar"] = lay.tar(root(m), fmt=tarfile.GNU_FORMAT, layout=False)
    seeds["single-manifest.tar.gz"] = gzip.compress(lay.tar(root(m)), mtime=0)

    # index.json -> OCI index -> two manifests, gzip layers.
    lay = Layout()
    a = lay.image("amd64", base_gz, OCI_LAYER_GZ)
    a["platform"] = {"os": "linux", "architecture": "amd64"}
    b = lay.image("arm64", gzip.compress(layer_tar("etc/arm.txt", b"arm\n"), mtime=0), OCI_LAYER_GZ)
    b["platform"] = {"os": "linux", "architecture": "arm64", "variant": "v8"}
    idx = dict(mediaType=OCI_INDEX, **lay.add(dumps(root(a, b))))
    idx["annotations"] = {"org.opencontainers.image.ref.name": "multi"}
    seeds["index-two-manifests.tar"] = lay.tar(root(idx))

    # Docker media types: manifest list -> Docker manifests; an uncompressed
    # layer labelled tar.gzip; a config without history.
    lay = Layout()
    a = lay.image("amd64", base, D_LAYER_GZ, D_MANIFEST, D_CONFIG, history=False)
    a["platform"] = {"os": "linux", "architecture": "amd64"}
    lst = {"schemaVersion": 2, "mediaType": D_LIST, "manifests": [a]}
    l = dict(mediaType=D_LIST, **lay.add(dumps(lst)))
    seeds["docker-list.tar"] = lay.tar(root(l))
    # Docker manifest straight from index.json, docker-save extras.
    lay = Layout()
    a = lay.image("amd64", base_gz, D_LAYER_GZ, D_MANIFEST, D_CONFIG)
    lay.extras["manifest.json"] = dumps([{"Config": "blobs/sha256/x", "RepoTags": ["base:1"], "Layers": []}])
    lay.extras["repositories"] = dumps({"base": {"1": "x"}})
    seeds["docker-save.tar"] = lay.tar(root(a))

    # Attestation next to an image (BuildKit style), and a referrer.
    lay = Layout()
    img = lay.image("amd64", base)
    img["platform"] = {"os": "linux", "architecture": "amd64"}
    att_layer = lay.add(b'{"_type":"https://in-toto.io/Statement/v0.1"}')
    att_cfg = lay.add(b"{}")
    att = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": dict(mediaType=OCI_CONFIG, **att_cfg),
           "layers": [dict(mediaType=IN_TOTO, **att_layer)]}
    att_d = dict(mediaType=OCI_MANIFEST, **lay.add(dumps(att)))
    att_d["platform"] = {"os": "unknown", "architecture": "unknown"}
    att_d["annotations"] = {"vnd.docker.reference.type": "attestation-manifest",
                            "vnd.docker.reference.digest": img["digest"]}
    ref = {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/example",
           "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": att_cfg["digest"], "size": 2},
           "layers": [], "subject": {"mediaType": OCI_MANIFEST, "digest": img["digest"], "size": img["size"]}}
    ref_d = dict(mediaType=OCI_MANIFEST, **lay.add(dumps(ref)))
    idx = dict(mediaType=OCI_INDEX, **lay.add(dumps(root(img, att_d, ref_d))))
    seeds["attestation-referrer.tar"] = lay.tar(root(idx))

    # Inline data for the config, no config blob; an unknown media type entry;
    # nested index -> index -> manifest; a sha512 blob.
    lay = Layout()
    cfg = dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [sha(base)]}})
    l = lay.add(base)
    m = {"schemaVersion": 2, "mediaType": OCI_MANIFEST,
         "config": {"mediaType": OCI_CONFIG, "digest": sha(cfg), "size": len(cfg),
                    "data": base64.b64encode(cfg).decode()},
         "layers": [dict(mediaType=OCI_LAYER, **l)]}
    md = dict(mediaType=OCI_MANIFEST, **lay.add(dumps(m)))
    inner = dict(mediaType=OCI_INDEX, **lay.add(dumps(root(md))))
    outer = dict(mediaType=OCI_INDEX, **lay.add(dumps(root(inner))))
    other = dict(mediaType="application/x-unknown", **lay.add(b"opaque"))
    t = lay.tar(root(outer, other))
    seeds["inline-config-nested-index.tar"] = t

    # A sparse layer written by GNU tar (holes read back as zeros).
    if shutil.which("tar"):
        with tempfile.TemporaryDirectory() as tmp:
            hole = b"\0" * 65536 + b"end\n"
            lay = Layout()
            m = lay.image("amd64", hole, diff_id=sha(hole))
            os.makedirs(os.path.join(tmp, "blobs", "sha256"))
            for d, data in lay.blobs.items():
                path = os.path.join(tmp, "blobs", "sha256", d.split(":")[1])
                with open(path, "wb") as f:
                    if data == hole:
                        f.seek(65536)
                        f.write(b"end\n")
                    else:
                        f.write(data)
            with open(os.path.join(tmp, "index.json"), "wb") as f:
                f.write(dumps(root(m)))
            with open(os.path.join(tmp, "oci-layout"), "wb") as f:
                f.write(b'{"imageLayoutVersion":"1.0.0"}')
            for fmt in ("gnu", "posix"):
                out = subprocess.run(["tar", "--sparse", "--format=" + fmt, "--owner=0", "--group=0",
                                      "--mtime=@0", "--sort=name", "-C", tmp, "-cf", "-", "."],
                                     check=True, capture_output=True).stdout
                seeds[f"sparse-layer-{fmt}.tar"] = out

    # Structured mode: documents, digests filled in by the harness.
    def docs(flags, *parts):
        return b"OLOTDOCS" + bytes([flags]) + b"\n--\n".join(parts)

    layer = b"layer bytes\n"  # not a real tar: only its digest matters here
    cfg = b'{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["@D0"]},"history":[{"created_by":"x"}]}'
    man = (b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","config":{"mediaType":"' +
           OCI_CONFIG.encode() + b'","digest":"@D1","size":@S1},"layers":[{"mediaType":"' + OCI_LAYER.encode() +
           b'","digest":"@D0","size":@S0}]}')
    desc = lambda t, j: b'{"mediaType":"' + t.encode() + b'","digest":"@D' + str(j).encode() + b'","size":@S' + \
        str(j).encode() + b'}'
    idx = lambda *ds: b'{"schemaVersion":2,"mediaType":"' + OCI_INDEX.encode() + b'","manifests":[' + \
        b",".join(ds) + b"]}"
    seeds["docs-single.olotdocs"] = docs(0, layer, cfg, man, idx(desc(OCI_MANIFEST, 2)))
    seeds["docs-single-flags.olotdocs"] = docs(15, layer, cfg, man, idx(desc(OCI_MANIFEST, 2)))
    seeds["docs-nested.olotdocs"] = docs(0, layer, cfg, man, idx(desc(OCI_MANIFEST, 2)),
                                         idx(desc(OCI_INDEX, 3), desc(OCI_MANIFEST, 2)))
    dman = man.replace(OCI_MANIFEST.encode(), D_MANIFEST.encode()).replace(OCI_CONFIG.encode(), D_CONFIG.encode()) \
        .replace(OCI_LAYER.encode(), D_LAYER_GZ.encode())
    seeds["docs-docker.olotdocs"] = docs(0, layer, cfg, dman, idx(desc(D_MANIFEST, 2)).replace(
        OCI_INDEX.encode(), D_LIST.encode()), idx(desc(D_LIST, 3)))
    att = (b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","config":{"mediaType":"' +
           OCI_CONFIG.encode() + b'","digest":"@D1","size":@S1},"layers":[{"mediaType":"' + IN_TOTO.encode() +
           b'","digest":"@D0","size":@S0}],"subject":{"mediaType":"' + OCI_MANIFEST.encode() +
           b'","digest":"@D2","size":@S2}}')
    seeds["docs-referrer.olotdocs"] = docs(0, layer, cfg, man, att, idx(desc(OCI_MANIFEST, 2), desc(OCI_MANIFEST, 3)))
    return seeds


def json_seeds():
    seeds = {
        "manifest.json": b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:' + b"a" * 64 + b'","size":2},"layers":[]}',
        "index-pretty.json": json.dumps(root({"mediaType": OCI_MANIFEST, "digest": "sha256:" + "b" * 64, "size": 1,
                                              "platform": {"os": "linux", "architecture": "amd64"}}), indent=2).encode(),
        "config.json": dumps({"architecture": "amd64", "config": {"Env": ["A=1"], "Labels": None},
                              "rootfs": {"type": "layers", "diff_ids": []}, "history": [{"empty_layer": True}]}),
        "numbers.json": b'[0,-0,1.5,-1.5e+10,1E400,123456789012345678901234567890,0.0000001,1e-400,-0.0e-0]',
        "strings.json": b'["\\u00e9\\ud83d\\ude00","\\"\\\\\\/\\b\\f\\n\\r\\t","\xc3\xa9\xf0\x9f\x98\x80",""]',
        "duplicate-keys.json": b'{"a":1,"a":2,"":{},"b":[[],{}]}',
        "nested.json": b"[" * 40 + b"]" * 40,
        "nested-objects.json": b'{"a":' * 20 + b"null" + b"}" * 20,
        "scalar-number.json": b" 42 ",
        "scalar-string.json": b'"x"',
        "scalar-true.json": b"true",
        "scalar-null.json": b"null\n",
        "empty-object.json": b"{}",
    }
    return seeds


def write(directory, seeds):
    path = os.path.join(HERE, directory)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    for name, data in seeds.items():
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)
    print(f"{directory}: {len(seeds)} seeds", file=sys.stderr)


if __name__ == "__main__":
    write("pipeline_fuzz", pipeline_seeds())
    write("json_fuzz", json_seeds())
