#!/usr/bin/env bash
# install-deps.sh build|test — make sure the Debian 12 packages olot-filter
# needs are installed; installs the missing ones with apt-get when run as
# root, otherwise says which to install and fails.
set -euo pipefail

build_pkgs=(g++ cmake make pkg-config libarchive-dev libsimdjson-dev libssl-dev libxxhash-dev
  libboost-program-options-dev zlib1g-dev libzstd-dev googletest libgtest-dev)
test_pkgs=(bats bats-support bats-assert skopeo umoci docker-registry jq curl busybox-static
  python3 xxd zstd tmux strace time)

case "${1:-build}" in
  build) want=("${build_pkgs[@]}") ;;
  test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  *) echo "usage: $0 build|test" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) -ne 0 ]]; then
  echo "install-deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"; exit 1
fi
rm -f "$log"
