#!/usr/bin/env bash
# Builds StreamCrab's bench binary (`streamcrab/benches/core.rs`, bench profile) and prints its
# path. Extra arguments go to cargo, e.g. `bench/bench-bin.sh --features rocksdb`.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p streamcrab --bench core --no-run --message-format=json "$@" 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    if not l.startswith("{"):
        continue
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "core":
        print(m["executable"])' | tail -1
