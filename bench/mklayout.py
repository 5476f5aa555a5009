#!/usr/bin/env python3
"""Generates the OCI layouts `make bench` feeds to olot-filter (SPEC §11).

    mklayout.py base DIR LAYER_BYTES [LAYERS]   config + LAYERS incompressible gzip-typed layers
    mklayout.py zeros DIR BYTES SHA256          the documents of a layout whose one uncompressed layer
                                                is BYTES zeros (streamed by gen_tar, not written)
    mklayout.py index DIR PLATFORMS             an image index of PLATFORMS manifests
    mklayout.py layers DIR LAYERS [BYTES]       one manifest with LAYERS small layers (4 KiB)
    mklayout.py model DIR FILES BYTES           FILES incompressible files of BYTES each + README.md

Blobs are named by their SHA-256. "Incompressible" bytes come from
`openssl rand`; the gzip-typed layers start with the gzip magic so that the
sniffed compression agrees with the media type (SPEC §4, §5.1). The layout
directory is written; the caller tars it (GNU tar, --sort=name).
"""
import hashlib
import json
import os
import subprocess
import sys

GZIP_MAGIC = bytes([0x1F, 0x8B, 0x08, 0x00, 0, 0, 0, 0, 0, 0xFF])
MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_TGZ = "application/vnd.oci.image.layer.v1.tar+gzip"
MT_TAR = "application/vnd.oci.image.layer.v1.tar"
CHUNK = 1 << 20


def blobs(root):
    d = os.path.join(root, "blobs", "sha256")
    os.makedirs(d, exist_ok=True)
    return d


def put_bytes(root, data):
    h = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs(root), h), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + h, "size": len(data)}


def put_json(root, obj, media_type):
    desc = put_bytes(root, json.dumps(obj, separators=(",", ":")).encode())
    return {"mediaType": media_type, **desc}


def random_file(path, size, prefix=b""):
    """Writes prefix + random bytes, size in all, and returns its sha256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        f.write(prefix)
        h.update(prefix)
        left = size - len(prefix)
        if 0 < left <= 4 * CHUNK:
            b = os.urandom(left)
            h.update(b)
            f.write(b)
        elif left > 0:
            p = subprocess.Popen(["openssl", "rand", str(left)], stdout=subprocess.PIPE)
            while True:
                b = p.stdout.read(CHUNK)
                if not b:
                    break
                h.update(b)
                f.write(b)
            if p.wait() != 0:
                sys.exit("mklayout: openssl rand failed")
    return h.hexdigest()


def put_random_layer(root, size):
    tmp = os.path.join(blobs(root), ".tmp")
    h = random_file(tmp, size, GZIP_MAGIC)
    os.rename(tmp, os.path.join(blobs(root), h))
    return {"mediaType": MT_TGZ, "digest": "sha256:" + h, "size": size}


def config(arch="amd64", layers=()):
    return {
        "created": "2024-01-01T00:00:00Z",
        "architecture": arch,
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
        # The layers are "gzip" random bytes: their diff_ids are never checked,
        # so any well-formed digest will do.
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(l["digest"].encode()).hexdigest() for l in layers]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "bench layer %d" % i} for i in range(len(layers))],
    }


def manifest(root, layers, arch="amd64", cfg=None):
    cfg_desc = put_json(root, cfg or config(arch, layers), MT_CONFIG)
    return put_json(root, {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": cfg_desc, "layers": layers}, MT_MANIFEST)


def finish(root, entries):
    with open(os.path.join(root, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')
    with open(os.path.join(root, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": entries}, f, separators=(",", ":"))


def ref(desc, name="bench:1", platform=None):
    d = dict(desc)
    if platform:
        d["platform"] = platform
    d["annotations"] = {"org.opencontainers.image.ref.name": name}
    return d


def cmd_base(root, layer_bytes, count=2):
    layers = [put_random_layer(root, int(layer_bytes)) for _ in range(int(count))]
    finish(root, [ref(manifest(root, layers))])


def cmd_zeros(root, size, digest):
    """Only the documents: gen_tar streams the layer (ZERO_BYTES zeros) itself."""
    os.makedirs(blobs(root), exist_ok=True)
    # An all-zero blob is a valid (empty) tar, so it is typed uncompressed and
    # its digest is its diff_id.
    layer = {"mediaType": MT_TAR, "digest": "sha256:" + digest, "size": int(size)}
    cfg = config("amd64", [layer])
    cfg["rootfs"]["diff_ids"] = [layer["digest"]]
    finish(root, [ref(manifest(root, [layer], cfg=cfg))])


def cmd_index(root, platforms):
    entries = []
    for i in range(int(platforms)):
        layer = put_random_layer(root, 16 << 10)
        arch = "arch%02d" % i
        entries.append({**manifest(root, [layer], arch), "platform": {"os": "linux", "architecture": arch}})
    index = put_json(root, {"schemaVersion": 2, "mediaType": MT_INDEX, "manifests": entries}, MT_INDEX)
    finish(root, [ref(index)])


def cmd_layers(root, count, layer_bytes=4 << 10):
    layers = [put_random_layer(root, int(layer_bytes)) for _ in range(int(count))]
    finish(root, [ref(manifest(root, layers))])


def cmd_model(root, files, size):
    os.makedirs(root, exist_ok=True)
    files, size = int(files), int(size)
    width = len(str(files))
    for i in range(files):
        random_file(os.path.join(root, "model-%0*d-of-%d.safetensors" % (width, i + 1, files)), size)
    with open(os.path.join(root, "README.md"), "w") as f:
        f.write("# bench model\n\nGenerated by bench/mklayout.py: %d file(s) of %d random bytes.\n" % (files, size))


def main(argv):
    cmds = {"base": cmd_base, "zeros": cmd_zeros, "index": cmd_index, "layers": cmd_layers, "model": cmd_model}
    if len(argv) < 3 or argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[argv[1]](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)
