#!/usr/bin/env bash
# Vendors MapLibre GL JS into the package so the map viewer works offline.
#
# Fetches the pinned maplibre-gl release from the npm registry with `npm pack`,
# checks the tarball's sha512 against the pinned integrity and against the
# registry's `dist.integrity`, and copies dist/maplibre-gl.js,
# dist/maplibre-gl.css and LICENSE.txt into src/eoforge/serve/static/vendor/.
# The folder is not committed (a 1 MB build): `make demo` and `make test` fetch it
# once; run this before building a wheel, which then ships it (package-data).
#
# Usage: scripts/vendor_maplibre.sh            (from anywhere; needs npm)
# To move to another release, change VERSION and INTEGRITY together
# (INTEGRITY is `npm view maplibre-gl@VERSION dist.integrity`).
set -euo pipefail

VERSION="5.24.1"
INTEGRITY="sha512-HyiYBwtsbk3L1n1EPLJHWqdoyMiF80n7tEYXFZyu2m1TjvaNx6KMLiFeDdmszt1/mq2zvsR1TJuX/NMu5BonXQ=="

repo="$(cd "$(dirname "$0")/.." && pwd)"
dest="$repo/src/eoforge/serve/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed to fetch MapLibre GL JS for the map viewer: install Node.js/npm" >&2
  echo "(e.g. apt-get install npm), then run $0 again" >&2
  exit 1
fi

registry_integrity="$(npm view "maplibre-gl@$VERSION" dist.integrity)"
if [[ "$registry_integrity" != "$INTEGRITY" ]]; then
  echo "maplibre-gl@$VERSION: the registry's integrity $registry_integrity" >&2
  echo "differs from the pinned $INTEGRITY; check the release before changing the pin" >&2
  exit 1
fi

(cd "$work" && npm pack --silent "maplibre-gl@$VERSION" > pack.out)
tarball="$work/$(tail -n 1 "$work/pack.out")"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w 0)"
if [[ "$actual" != "$INTEGRITY" ]]; then
  echo "$tarball: sha512 $actual does not match the pinned $INTEGRITY" >&2
  exit 1
fi

tar -xzf "$tarball" -C "$work"
mkdir -p "$dest"
cp "$work/package/dist/maplibre-gl.js" "$work/package/dist/maplibre-gl.css" "$dest/"
cp "$work/package/LICENSE.txt" "$dest/LICENSE.txt"
printf 'maplibre-gl %s\n%s\n' "$VERSION" "$INTEGRITY" > "$dest/VERSION.txt"
echo "vendored maplibre-gl@$VERSION into $dest"
ls -l "$dest"
