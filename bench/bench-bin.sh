#!/usr/bin/env bash
# Builds StreamCrab's bench binary (`streamcrab/benches/core.rs`, bench profile) and prints its
# path. Extra arguments go to cargo, e.g. `bench/bench-bin.sh --features rocksdb`.
#
# Loops are aligned to 64 bytes (`-align-loops=64`): MapFilter's whole loop is 40 bytes, and
# where the linker happens to put it otherwise decides whether it spans two cache lines, which
# moved its rate by up to half when unrelated code changed (notes/loop-alignment-2026-12-02.txt).
# The flag changes every crate's build, so it builds in a target dir of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
export RUSTFLAGS="${RUSTFLAGS:-} -C llvm-args=-align-loops=64"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/bench-aligned-loops"
cargo bench -p streamcrab --bench core --no-run --message-format=json "$@" 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    if not l.startswith("{"):
        continue
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "core":
        print(m["executable"])' | tail -1
