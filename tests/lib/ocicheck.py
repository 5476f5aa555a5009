#!/usr/bin/env python3
"""ocicheck.py — read an OCI image-layout tar (or a layer tar) the way a
consumer does and report what is wrong with it.  Used by the bats tests.

  ocicheck.py hygiene OUT.tar
      tar-level checks of an olot-filter output (G6, SPEC §8): readable to
      the end, nothing after the end-of-archive but zero padding, no
      duplicate names, no './' or '/' or '..' names, oci-layout first and
      exactly '{"imageLayoutVersion":"1.0.0"}', index.json last, only
      regular files and the blobs/ and blobs/<alg>/ directories (before the
      blobs), every other name blobs/<alg>/<hex>, new entries root-owned
      0644 (directories 0755).

  ocicheck.py graph OUT.tar [--allow-unreachable] [--any-order]
      content checks: every blob hashes to its name (G1); walking from
      index.json every descriptor resolves to a blob of the right size (G2);
      descriptor media types equal the documents' own and are OCI types
      (G3); every image manifest has len(layers) == len(diff_ids) == the
      number of non-empty history entries (G4); every document comes after
      the blobs it references (§8 dependency order); no blob unreachable
      from index.json (G7) unless --allow-unreachable.  --any-order skips
      the order check (for inputs made by other tools).

  ocicheck.py images OUT.tar
      one JSON line per image manifest reachable from index.json:
      {"digest","platform","refs","layers","config"}.

  ocicheck.py layer LAYER_BLOB
      the entries of a layer tar (gzip/zstd detected) as a JSON array:
      name, type ("file","dir","symlink",…), mode, uid, gid, uname, gname,
      mtime, size, linkname, magic ("gnu","posix","v7"), sha256 of content;
      plus a final {"end_of_archive": true|false}.

Every check prints one line per problem on stdout and exits 1 if there was
any; exits 0 and prints nothing otherwise (except the listing commands).
"""
import gzip
import hashlib
import io
import json
import re
import subprocess
import sys
import tarfile

HEX_LEN = {"sha256": 64, "sha512": 128}
INDEX_TYPES = {"application/vnd.oci.image.index.v1+json"}
MANIFEST_TYPES = {"application/vnd.oci.image.manifest.v1+json"}
DOCKER_PREFIX = "application/vnd.docker."

problems = []


def problem(msg):
    problems.append(msg)


def finish():
    for p in problems:
        print(p)
    sys.exit(1 if problems else 0)


def read_layout_tar(path):
    """[(TarInfo, bytes|None)] in archive order, and the raw archive bytes."""
    with open(path, "rb") as f:
        raw = f.read()
    members = []
    try:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as t:
            for m in t:
                data = t.extractfile(m).read() if m.isfile() else None
                members.append((m, data))
            end = t.offset
    except tarfile.TarError as e:
        problem(f"tar: not readable to the end: {e}")
        return members, raw, None
    return members, raw, end


def cmd_hygiene(path):
    members, raw, end = read_layout_tar(path)
    if end is not None:
        if len(raw) % 512:
            problem(f"tar: size {len(raw)} is not a multiple of 512")
        if raw[end:].strip(b"\0"):
            problem(f"tar: {len(raw) - end} bytes after the end of the archive are not zero padding")
        if len(raw) - end < 1024:
            problem("tar: no end-of-archive blocks (two zero blocks)")
    names = [m.name for m, _ in members]
    seen = set()
    for n in names:
        if n in seen:
            problem(f"duplicate entry {n!r}")
        seen.add(n)
        if n.startswith("./"):
            problem(f"entry name starts with './': {n!r}")
        if n.startswith("/"):
            problem(f"absolute entry name: {n!r}")
        if ".." in n.split("/"):
            problem(f"entry name with '..': {n!r}")
    if not names:
        problem("empty archive")
        return
    if names[0] != "oci-layout":
        problem(f"first entry is {names[0]!r}, not oci-layout")
    if names.count("oci-layout") != 1:
        problem(f"{names.count('oci-layout')} oci-layout entries")
    if names.count("index.json") != 1:
        problem(f"{names.count('index.json')} index.json entries")
    if names[-1] != "index.json":
        problem(f"last entry is {names[-1]!r}, not index.json")
    dirnames = {m.name.rstrip("/") for m, _ in members if m.isdir()}
    for d in ("blobs/", "blobs/sha256/"):
        if d.rstrip("/") not in dirnames:
            problem(f"no directory entry {d!r} (SPEC §8: written after oci-layout)")
    dirs_seen = set()
    for m, data in members:
        n = m.name
        if n == "oci-layout":
            if data != b'{"imageLayoutVersion":"1.0.0"}':
                problem(f"oci-layout content is {data!r}")
        if m.isdir():
            d = n.rstrip("/")
            if not re.fullmatch(r"blobs(/sha256|/sha512)?", d):
                problem(f"unexpected directory entry {n!r}")
            dirs_seen.add(d)
            if m.mode & 0o7777 != 0o755:
                problem(f"directory {n!r} has mode {m.mode:o}, not 755")
        elif m.isfile():
            if n in ("oci-layout", "index.json"):
                if m.mode & 0o7777 != 0o644:
                    problem(f"{n} has mode {m.mode:o}, not 644")
            else:
                mm = re.fullmatch(r"blobs/([a-z0-9]+)/([0-9a-f]+)", n)
                if not mm or HEX_LEN.get(mm.group(1)) != len(mm.group(2)):
                    problem(f"unexpected file entry {n!r}")
                elif dirs_seen and "blobs/" + mm.group(1) not in dirs_seen:
                    problem(f"{n!r} comes before its directory entry blobs/{mm.group(1)}/")
        else:
            problem(f"entry {n!r} is neither a regular file nor a directory (type {m.type!r})")
        if m.uid != 0 or m.gid != 0:
            if m.isdir() or n in ("oci-layout", "index.json"):
                problem(f"{n!r} owned by {m.uid}:{m.gid}, not 0:0")
    finish()


class Layout:
    def __init__(self, path):
        self.members, _, _ = read_layout_tar(path)
        self.files = {}
        self.order = {}
        for i, (m, data) in enumerate(self.members):
            if m.isfile():
                n = m.name[2:] if m.name.startswith("./") else m.name
                self.files[n] = data
                self.order[n] = i

    @staticmethod
    def blob_name(digest):
        alg, _, hexd = digest.partition(":")
        return f"blobs/{alg}/{hexd}"

    def blob(self, digest):
        return self.files.get(self.blob_name(digest))

    def json(self, digest):
        return json.loads(self.blob(digest))


def walk(lay, order=True):
    """Walk from index.json; returns (reached set of digests, images list)."""
    reached = set()
    images = []
    try:
        root = json.loads(lay.files["index.json"])
    except (KeyError, ValueError) as e:
        problem(f"index.json: missing or not JSON ({e})")
        return reached, images

    def resolve(desc, where, referrer):
        d = desc.get("digest", "")
        if not re.fullmatch(r"(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})", d):
            problem(f"{where}: bad digest {d!r}")
            return None
        reached.add(d)
        data = lay.blob(d)
        if data is None:
            if desc.get("urls"):
                return None
            problem(f"{where}: descriptor {d} has no blob in the archive")
            return None
        if desc.get("size") != len(data):
            problem(f"{where}: descriptor {d} says size {desc.get('size')}, blob has {len(data)}")
        if order and referrer is not None and lay.order[lay.blob_name(d)] > lay.order[referrer]:
            problem(f"{where}: blob {d} comes after {referrer}, which references it")
        return data

    def visit(desc, where, referrer, refs, platform):
        mt = desc.get("mediaType", "")
        data = resolve(desc, where, referrer)
        if data is None:
            return
        if mt.startswith(DOCKER_PREFIX):
            problem(f"{where}: Docker media type {mt}")
        if mt in INDEX_TYPES or mt in MANIFEST_TYPES:
            doc = json.loads(data)
            own = doc.get("mediaType")
            if own is not None and own != mt:
                problem(f"{where}: descriptor says {mt}, document says {own}")
            name = lay.blob_name(desc["digest"])
            if mt in INDEX_TYPES:
                ms = doc.get("manifests")
                if not isinstance(ms, list):
                    problem(f"{where}: manifests is not an array")
                    return
                for i, c in enumerate(ms):
                    visit(c, f"{desc['digest']} manifests[{i}]", name, refs, c.get("platform"))
            else:
                cfgd = doc.get("config", {})
                cfg_raw = resolve(cfgd, f"{desc['digest']} config", name)
                layers = doc.get("layers") or []
                for i, l in enumerate(layers):
                    resolve(l, f"{desc['digest']} layers[{i}]", name)
                    if l.get("mediaType", "").startswith(DOCKER_PREFIX):
                        problem(f"{desc['digest']} layers[{i}]: Docker media type {l['mediaType']}")
                image = {"digest": desc["digest"], "platform": platform, "refs": refs,
                         "layers": len(layers), "config": cfgd.get("digest")}
                if cfgd.get("mediaType") == "application/vnd.oci.image.config.v1+json" and cfg_raw:
                    cfg = json.loads(cfg_raw)
                    diff_ids = (cfg.get("rootfs") or {}).get("diff_ids") or []
                    hist = [h for h in (cfg.get("history") or []) if not h.get("empty_layer")]
                    if not (len(layers) == len(diff_ids) == len(hist)):
                        problem(f"{desc['digest']}: {len(layers)} layers, {len(diff_ids)} diff_ids, "
                                f"{len(hist)} non-empty history entries")
                    images.append(image)
                elif cfgd.get("mediaType", "").startswith(DOCKER_PREFIX):
                    problem(f"{desc['digest']} config: Docker media type {cfgd['mediaType']}")

    ms = root.get("manifests")
    if not isinstance(ms, list):
        problem("index.json: manifests is not an array")
        return reached, images
    for i, c in enumerate(ms):
        refs = [(c.get("annotations") or {}).get("org.opencontainers.image.ref.name")]
        visit(c, f"index.json manifests[{i}]", "index.json", refs, c.get("platform"))
    return reached, images


def cmd_graph(path, allow_unreachable, order):
    lay = Layout(path)
    for n, data in lay.files.items():
        mm = re.fullmatch(r"blobs/(sha256|sha512)/([0-9a-f]+)", n)
        if not mm:
            continue
        h = hashlib.new(mm.group(1), data).hexdigest()
        if h != mm.group(2):
            problem(f"{n}: content hashes to {h}")
    reached, _ = walk(lay, order)
    if not allow_unreachable:
        for n in lay.files:
            mm = re.fullmatch(r"blobs/(sha256|sha512)/([0-9a-f]+)", n)
            if mm and f"{mm.group(1)}:{mm.group(2)}" not in reached:
                problem(f"{n}: not reachable from index.json")
    finish()


def cmd_images(path):
    lay = Layout(path)
    _, images = walk(lay, order=False)
    merged = {}
    for im in images:
        if im["digest"] in merged:
            merged[im["digest"]]["refs"] += im["refs"]
        else:
            merged[im["digest"]] = im
    for im in merged.values():
        print(json.dumps(im, separators=(",", ":")))
    if problems:
        finish()


def decompress(raw):
    if raw[:2] == b"\x1f\x8b":
        return gzip.decompress(raw)
    if raw[:4] == b"\x28\xb5\x2f\xfd":
        return subprocess.run(["zstd", "-dc"], input=raw, stdout=subprocess.PIPE, check=True).stdout
    return raw


TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir",
         tarfile.SYMTYPE: "symlink", tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "chardev",
         tarfile.BLKTYPE: "blockdev", tarfile.FIFOTYPE: "fifo"}


def cmd_layer(path):
    with open(path, "rb") as f:
        raw = decompress(f.read())
    out = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as t:
        for m in t:
            hdr = raw[m.offset:m.offset + 512]
            magic = {b"ustar  \0": "gnu", b"ustar\x0000": "posix"}.get(hdr[257:265], "v7")
            e = {"name": m.name, "type": TYPES.get(m.type, repr(m.type)), "mode": m.mode,
                 "uid": m.uid, "gid": m.gid, "uname": m.uname, "gname": m.gname,
                 "mtime": m.mtime, "size": m.size, "linkname": m.linkname, "magic": magic,
                 "pax": sorted(m.pax_headers)}
            if m.isfile():
                e["sha256"] = hashlib.sha256(t.extractfile(m).read()).hexdigest()
            out.append(e)
        end = t.offset
    eoa = len(raw) - end >= 1024 and not raw[end:end + 1024].strip(b"\0")
    out.append({"end_of_archive": eoa})
    print(json.dumps(out, ensure_ascii=False))


def main(argv):
    opts = {a for a in argv if a.startswith("--")}
    args = [a for a in argv if not a.startswith("--")]
    if "--help" in opts or len(args) != 2:
        print(__doc__)
        return 2
    cmd, path = args
    if cmd == "hygiene":
        cmd_hygiene(path)
    elif cmd == "graph":
        cmd_graph(path, "--allow-unreachable" in opts, "--any-order" not in opts)
    elif cmd == "images":
        cmd_images(path)
    elif cmd == "layer":
        cmd_layer(path)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
