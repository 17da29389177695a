#!/usr/bin/env bash
# Builds the npm package `partway-upload` from the workspace and packs it:
#   www/npm/build.sh [OUT]   (default target/npm) → OUT/partway-upload-<version>.tgz
# Uses the installed wasm-bindgen and the npm binaryen's wasm-opt (.ci/install); nothing
# is downloaded. The same sources give the same tarball.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$(mkdir -p "${1:-$ROOT/target/npm}" && cd "${1:-$ROOT/target/npm}" && pwd)"
PKG="$OUT/partway-upload"
export PATH="$ROOT/tests/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cd "$ROOT"

cargo build --release --lib --target wasm32-unknown-unknown -p partway
rm -rf "$PKG"
mkdir -p "$PKG/wasm"
wasm-bindgen --target web --no-typescript --out-dir "$PKG/wasm" --out-name partway \
  target/wasm32-unknown-unknown/release/partway.wasm
wasm-opt -Oz --output "$PKG/wasm/partway_bg.opt.wasm" "$PKG/wasm/partway_bg.wasm"
mv "$PKG/wasm/partway_bg.opt.wasm" "$PKG/wasm/partway_bg.wasm"
cp www/npm/package.json www/npm/partway-upload.js www/npm/partway-upload.d.ts \
   www/npm/manual.js www/npm/manual.d.ts www/npm/README.md "$PKG/"

# What a page downloads for one element, as a CDN would serve it.
total=0
for f in "$PKG"/wasm/partway_bg.wasm "$PKG"/wasm/partway.js "$PKG"/partway-upload.js "$PKG"/manual.js $(find "$PKG/wasm/snippets" -name '*.js'); do
  total=$((total + $(gzip -9c "$f" | wc -c)))
done
echo "partway-upload: wasm $(wc -c <"$PKG/wasm/partway_bg.wasm") B raw; wasm + js $total B gzip -9"

(cd "$OUT" && rm -f partway-upload-*.tgz && npm pack --silent ./partway-upload >/dev/null)
ls "$OUT"/partway-upload-*.tgz
