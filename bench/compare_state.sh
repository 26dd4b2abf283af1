#!/usr/bin/env bash
# The state backends beside Flink's: WindowAgg with KEYS distinct keys (default 10 million,
# key(i) = mix64(i mod keys), N events, tumbling 10 s event-time windows) on StreamCrab's heap and
# RocksDB backends and on Flink 2.3's hashmap and RocksDB backends, parallelism 1, interleaved
# over REPS repetitions; prints medians of records/s, CPU seconds and peak RSS, and the ratios.
# Needs the `rocksdb` feature's build (libclang-dev) and a JDK 17 for Flink.
#
#   bench/compare_state.sh             # REPS=3, N=10M, KEYS=10M
#   REPS=1 N=2000000 KEYS=2000000 bench/compare_state.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${REPS:-3}"
N="${N:-10000000}"
KEYS="${KEYS:-10000000}"
LOG="$(mktemp)"

bench/flink/flink.sh install
BIN="$(bench/bench-bin.sh --features rocksdb)"
[ -x "$BIN" ] || { echo "could not build the StreamCrab bench" >&2; exit 2; }

for rep in $(seq "$REPS"); do
  echo "# repetition $rep" | tee -a "$LOG"
  "$BIN" bigevents="$N" keys="$KEYS" runs=1 only=bigstate | grep -E '^(bigstate|checksum) ' | sed 's/^/SC /' | tee -a "$LOG"
  for backend in hashmap rocksdb; do
    bench/flink/flink.sh run WindowAggKeys "$N" 1 "$backend" "$KEYS" 2>/dev/null | sed 's/^/FLINK /' | tee -a "$LOG"
  done
done

python3 - "$LOG" <<'PY'
import re, statistics, sys
rows, checksums = {}, set()
for line in open(sys.argv[1]):
    kind, _, rest = line.strip().partition(" ")
    if kind == "SC" and rest.startswith("checksum"):
        f = dict(kv.split("=", 1) for kv in rest.split() if "=" in kv)
        print(f"StreamCrab checksum (count, checksum): ({f['out_count']}, {f['out_checksum']})")
    elif kind == "SC":
        _job, config, _n, rate, _ratio, cpu, rss = (re.split(r"\s{2,}", rest.strip()) + [""] * 7)[:7]
        rows.setdefault(("SC", config), []).append((float(rate), float(cpu or "nan"), float(rss or "nan")))
    elif kind == "FLINK" and rest.startswith("RESULT"):
        f = dict(kv.split("=", 1) for kv in rest.split()[1:])
        pending = ("Flink", f["backend"] + " p=1"), float(f["rec_per_s"])
        checksums.add((f["out_count"], f["out_checksum"]))
    elif kind == "FLINK" and rest.startswith("PROC"):
        f = dict(kv.split("=", 1) for kv in rest.split()[1:])
        rows.setdefault(pending[0], []).append(
            (pending[1], float(f["user_s"]) + float(f["sys_s"]), float(f["maxrss_kib"]) / 1024))
med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in rows.items()}
print(f"{'engine':<7} {'config':<28} {'records/s':>12} {'CPU s':>8} {'peak RSS MiB':>13}")
for (engine, config), (rate, cpu, rss) in sorted(med.items()):
    print(f"{engine:<7} {config:<28} {rate:>12,.0f} {cpu:>8.2f} {rss:>13.0f}")
flink = med.get(("Flink", "rocksdb p=1"), (0,))[0]
for config in ("rocksdb p=1", "rocksdb p=1 no write tier", "rocksdb p=1 checkpoint 10s", "heap p=1"):
    sc = med.get(("SC", config))
    if sc and flink:
        print(f"StreamCrab {config} / Flink rocksdb p=1: {sc[0] / flink:.1f}x")
print(f"Flink checksums (count, checksum): {sorted(checksums)}; medians of {max(len(v) for v in rows.values())} repetitions")
PY
rm -f "$LOG"
