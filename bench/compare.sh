#!/usr/bin/env bash
# Same-run comparison of StreamCrab with Apache Flink 2.3 on WordCount, WindowAgg and MapFilter
# (the jobs, generators and checksums of ../shared/bench/flink), interleaved over REPS
# repetitions, printing medians and ratios. Flink comes from the PyPI wheel
# apache-flink-libraries (installed by ../shared/bench/flink/install.sh into ~/.cache).
#
#   bench/compare.sh                 # REPS=3, WordCount 2M lines, WindowAgg 15M, MapFilter 300M
#   REPS=5 LINES=200000 bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${REPS:-3}"
FLINK="${FLINK_BENCH:-$(pwd)/../shared/bench/flink}"
LINES="${LINES:-2000000}"
EVENTS="${EVENTS:-15000000}"
LONGS="${LONGS:-300000000}"
LOG="$(mktemp)"

[ -x "$FLINK/run.sh" ] || { echo "Flink anchor scripts not found in $FLINK (set FLINK_BENCH)" >&2; exit 2; }
"$FLINK/install.sh" > /dev/null
BIN="$(cargo bench -p streamcrab --bench core --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "core":
        print(m["executable"])' | tail -1)"
[ -x "$BIN" ] || { echo "could not build the StreamCrab bench" >&2; exit 2; }

for rep in $(seq "$REPS"); do
  echo "# repetition $rep" | tee -a "$LOG"
  "$BIN" lines="$LINES" events="$EVENTS" longs="$LONGS" runs=1 only=wordcount,windowagg,mapfilter \
    | grep -E '^(wordcount|windowagg|mapfilter) ' | sed 's/^/SC /' | tee -a "$LOG"
  for par in 1 2; do
    for job in WordCount:"$LINES" WindowAgg:"$EVENTS" MapFilter:"$LONGS"; do
      name="${job%%:*}"; n="${job##*:}"
      [ "$name" = MapFilter ] && [ "$par" = 2 ] && continue
      rate="$("$FLINK/run.sh" "$name" n="$n" par="$par" 2>/dev/null | sed -n 's/.*rec_per_s=\([0-9.]*\).*/\1/p' | head -1)"
      echo "FLINK $name|p=$par|${rate:-0}" | tee -a "$LOG"
    done
  done
done

python3 - "$LOG" <<'PY'
import re, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kind, _, rest = line.strip().partition(" ")
    if kind == "SC":
        job, config, _n, rate = re.split(r"\s{2,}", rest.strip())[:4]
    elif kind == "FLINK":
        job, config, rate = rest.split("|")
    else:
        continue
    job = job.lower()
    config = config.replace("builder ", "") if kind == "SC" else config
    rows.setdefault((job, kind, config), []).append(float(rate))
med = {k: statistics.median(v) for k, v in rows.items()}
print(f"{'job':<10} {'config':<20} {'StreamCrab rec/s':>17} {'Flink rec/s':>13} {'SC/Flink':>9} {'SC/loop':>8}")
for job in ("wordcount", "windowagg", "mapfilter"):
    loop = med.get((job, "SC", "hand-written loop"))
    for p in ("p=1", "p=1 checkpoint 1s", "p=2"):
        sc, fl = med.get((job, "SC", p)), med.get((job, "FLINK", p))
        if sc is None:
            continue
        ratio = f"{sc / fl:8.1f}x" if fl else "       -"
        print(f"{job:<10} {p:<20} {sc:>17,.0f} {fl or 0:>13,.0f} {ratio} {sc / loop:7.2f}x")
print(f"medians of {max(len(v) for v in rows.values())} interleaved repetitions")
PY
rm -f "$LOG"
