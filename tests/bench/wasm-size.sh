#!/usr/bin/env bash
# Where the element's wasm goes, by crate: the release module after wasm-bindgen and
# wasm-opt -Oz with names kept, measured by twiggy (`cargo install twiggy` first).
#   tests/bench/wasm-size.sh [N]   (the N largest, default 25)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/tests/node_modules/.bin:$HOME/.cargo/bin:$PATH"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cargo build --release --lib --target wasm32-unknown-unknown -p partway
wasm-bindgen --target web --keep-debug --out-dir "$WORK" --out-name p \
  target/wasm32-unknown-unknown/release/partway.wasm
wasm-opt -Oz -g "$WORK/p_bg.wasm" -o "$WORK/opt.wasm"
twiggy top -n 100000 -f csv "$WORK/opt.wasm" > "$WORK/top.csv"
python3 - "$WORK/top.csv" "${1:-25}" <<'PY'
import collections, csv, re, sys
sizes = collections.Counter()
for row in csv.DictReader(open(sys.argv[1])):
    name = row["Name"]
    if "names" in name or "custom section" in name:
        continue
    bare = name.lstrip("<&").replace("mut ", "").replace("dyn ", "")
    m = re.match(r"([A-Za-z_][A-Za-z0-9_]*)", bare)
    sizes[m.group(1) if m else name[:20]] += int(row["ShallowSize"])
total = sum(sizes.values())
print(f"{total} bytes of code and data (names excluded)")
for crate, n in sizes.most_common(int(sys.argv[2])):
    print(f"{n:8d} {100 * n / total:5.1f}% {crate}")
PY
