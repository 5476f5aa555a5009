#!/usr/bin/env bash
# demo.sh — what `make demo` runs: the main job on the bundled example.
#
#   1. build a small base image with umoci from busybox-static
#      (tests/fixtures/mkbase.sh),
#   2. pipe it through olot-filter with the model in tests/data/model
#      (its README.md as the modelcard),
#   3. check the result the way a consumer does: skopeo reads the archive and
#      reports the manifest digest olot-filter wrote, and `umoci unpack`
#      shows the model under /models byte for byte,
#   4. print a short summary.
#
# Exits non-zero on any mismatch.  Work files go to $DEMO_DIR (default
# build/demo).  Needs umoci, skopeo, jq, busybox-static.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
OLOT_FILTER=${OLOT_FILTER:-$repo/build/olot-filter}
model=$repo/tests/data/model
work=${DEMO_DIR:-$repo/build/demo}

die() { echo "demo: FAILED: $*" >&2; exit 1; }
[[ -x $OLOT_FILTER ]] || die "$OLOT_FILTER is not built (run make)"

rm -rf "$work"
mkdir -p "$work"
export TMPDIR=$work

echo "demo: building a busybox base image with umoci"
"$here/fixtures/mkbase.sh" "$work/base" >/dev/null

echo "demo: tar -C base -cf - . | olot-filter --model tests/data/model --modelcard tests/data/model/README.md > modelcar.tar"
tar -C "$work/base/layout" -cf - . |
  "$OLOT_FILTER" --model "$model" --modelcard "$model/README.md" >"$work/modelcar.tar" ||
  die "olot-filter exited $?"

mkdir "$work/layout"
tar -xf "$work/modelcar.tar" -C "$work/layout"
index=$work/layout/index.json
digest=$(jq -r '.manifests[0].digest' "$index")
manifest=$work/layout/blobs/sha256/${digest#sha256:}
[[ -f $manifest ]] || die "index.json names $digest, which is not in the archive"

# skopeo reads the archive and serves the manifest olot-filter wrote
raw=$(skopeo --insecure-policy inspect --raw "oci-archive:$work/modelcar.tar:latest") ||
  die "skopeo inspect oci-archive:modelcar.tar failed"
raw_digest=sha256:$(printf '%s' "$raw" | sha256sum | cut -d' ' -f1)
[[ $raw_digest == "$digest" ]] || die "skopeo sees manifest $raw_digest, index.json says $digest"

# every blob is what its name says
(cd "$work/layout/blobs/sha256" && for f in *; do
  [[ $(sha256sum <"$f" | cut -d' ' -f1) == "$f" ]] || die "blob $f does not match its name"
done)

# umoci unpacks the image and /models holds the model, byte for byte
umoci unpack --rootless --image "$work/layout:latest" "$work/bundle" >/dev/null ||
  die "umoci unpack failed"
diff -r "$model" "$work/bundle/rootfs/models" || die "/models in the image differs from $model"
cmp -s /bin/busybox "$work/bundle/rootfs/bin/busybox" || die "the base layer's /bin/busybox is gone"

# history and layers agree
config=$work/layout/blobs/sha256/$(jq -r '.config.digest | ltrimstr("sha256:")' "$manifest")
nlayers=$(jq '.layers | length' "$manifest")
nhist=$(jq '[.history[] | select(.empty_layer != true)] | length' "$config")
ndiff=$(jq '.rootfs.diff_ids | length' "$config")
[[ $nlayers == "$nhist" && $nlayers == "$ndiff" ]] ||
  die "$nlayers layers, $ndiff diff_ids, $nhist non-empty history entries"

echo
echo "ModelCar: $work/modelcar.tar ($(stat -c %s "$work/modelcar.tar") bytes)"
echo "manifest: $digest"
echo "layers:"
jq -r '.layers[] | [
    .digest[7:19],
    (.size | tostring),
    (.mediaType | sub("application/vnd.oci.image.layer.v1."; "")),
    (.annotations["olot.layer.content.inlayerpath"] // "(base)")
      + (if .annotations["io.opendatahub.modelcar.layer.type"] == "modelcard" then "  [modelcard]" else "" end)
  ] | "  " + join("  ")' "$manifest"
echo "checked: skopeo reads it, every blob matches its digest, umoci unpack shows /models == tests/data/model"
echo "demo: OK"
