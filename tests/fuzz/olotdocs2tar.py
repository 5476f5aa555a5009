#!/usr/bin/env python3
"""Turns a pipeline_fuzz input into the tar the harness feeds olot-filter.

    python3 tests/fuzz/olotdocs2tar.py INPUT > input.tar

A raw input is copied as it is; an "OLOTDOCS" input is built into a layout
tar exactly as src/pipeline_fuzz.cpp's build_layout() does, so a finding can
be reproduced with the command line tool:

    olot-filter --mtime 1700000000 --max-json-size 4096 --label fuzz.label=1 \\
        --annotation fuzz.annotation=1 -m weights.bin < input.tar > out.tar
(weights.bin holding "tiny model\\n").
"""
import hashlib
import sys


def entry(name, data, typ=b"0"):
    h = bytearray(512)
    n = name.encode()[:100]
    h[0:len(n)] = n
    h[100:108] = b"%07o\0" % (0o755 if typ == b"5" else 0o644)
    h[108:116] = b"%07o\0" % 0
    h[116:124] = b"%07o\0" % 0
    h[124:136] = b"%011o\0" % len(data)
    h[136:148] = b"%011o\0" % 0
    h[156:157] = typ
    h[257:263] = b"ustar\0"
    h[263:265] = b"00"
    h[148:156] = b" " * 8
    h[148:155] = b"%06o\0" % sum(h)
    return bytes(h) + data + b"\0" * ((512 - len(data) % 512) % 512)


def build(spec):
    flags = spec[0] if spec else 0
    spec = spec[1:]
    docs = []
    sep = b"\n--\n"
    while len(docs) < 64:
        at = spec.find(sep)
        docs.append(spec if at < 0 else spec[:at])
        if at < 0:
            break
        spec = spec[at + len(sep):]
    digests = []
    for k, d in enumerate(docs):
        out = bytearray()
        i = 0
        while i < len(d):
            if (d[i:i + 1] == b"@" and i + 2 < len(d) and d[i + 1:i + 2] in (b"D", b"S")
                    and 48 <= d[i + 2] <= 57 and d[i + 2] - 48 < k):
                j = d[i + 2] - 48
                out += (b"sha256:" + digests[j].encode()) if d[i + 1:i + 2] == b"D" else str(len(docs[j])).encode()
                i += 3
            else:
                out += d[i:i + 1]
                i += 1
        docs[k] = bytes(out)
        digests.append(hashlib.sha256(docs[k]).hexdigest())
    prefix = "./" if flags & 2 else ""
    tar = b""
    if flags & 1:
        tar += entry(prefix + "index.json", docs[-1])
    if flags & 2:
        tar += entry(prefix + "blobs/", b"", b"5") + entry(prefix + "blobs/sha256/", b"", b"5")
    for k in range(len(docs) - 1):
        if digests[k] not in digests[:k]:
            tar += entry(prefix + "blobs/sha256/" + digests[k], docs[k])
    if not flags & 4:
        tar += entry(prefix + "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
    if not flags & 1:
        tar += entry(prefix + "index.json", docs[-1])
    if not flags & 8:
        tar += b"\0" * 1024
    return tar


data = open(sys.argv[1], "rb").read()
sys.stdout.buffer.write(build(data[8:]) if data.startswith(b"OLOTDOCS") else data)
