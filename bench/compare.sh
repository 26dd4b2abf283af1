#!/usr/bin/env bash
# Same-run comparison of StreamCrab with Apache Flink 2.3 on WordCount, WindowAgg and MapFilter
# (same generators and checksums on both sides), interleaved over REPS repetitions, printing
# medians and ratios. The Flink side is this repository's bench/flink (Java sources compiled
# against the jars of the PyPI wheel apache-flink-libraries==2.3.0, installed on first use).
#
#   bench/compare.sh                 # REPS=3, WordCount 2M lines, WindowAgg 15M, MapFilter 300M
#   REPS=5 LINES=200000 bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${REPS:-3}"
LINES="${LINES:-2000000}"
EVENTS="${EVENTS:-15000000}"
LONGS="${LONGS:-300000000}"
LOG="$(mktemp)"

bench/flink/flink.sh install
BIN="$(bench/bench-bin.sh)"
[ -x "$BIN" ] || { echo "could not build the StreamCrab bench" >&2; exit 2; }

for rep in $(seq "$REPS"); do
  echo "# repetition $rep" | tee -a "$LOG"
  "$BIN" lines="$LINES" events="$EVENTS" longs="$LONGS" runs=1 only=wordcount,windowagg,mapfilter \
    | grep -E '^(wordcount|windowagg|mapfilter) ' | sed 's/^/SC /' | tee -a "$LOG"
  for par in 1 2; do
    for job in WordCount:"$LINES" WindowAgg:"$EVENTS" MapFilter:"$LONGS"; do
      name="${job%%:*}"; n="${job##*:}"
      [ "$name" = MapFilter ] && [ "$par" = 2 ] && continue
      out="$(bench/flink/flink.sh run "$name" "$n" "$par" 2>/dev/null || true)"
      echo "$out" | sed 's/^/FLINK /' | tee -a "$LOG"
      want="$(grep -E "^\| $name \| $n \|" bench/flink/CHECKSUMS.md | cut -d'|' -f4 | tr -d ' ,' || true)"
      got="$(echo "$out" | sed -n 's/.*out_checksum=\([0-9]*\).*/\1/p')"
      if [ -n "$want" ] && [ "$want" != "$got" ]; then
        echo "Flink $name n=$n p=$par: checksum $got, expected $want" >&2; exit 1
      fi
    done
  done
done

python3 - "$LOG" <<'PY'
import re, statistics, sys
rows = {}
def add(key, rate, cpu, rss):
    rows.setdefault(key, []).append((rate, cpu, rss))
for line in open(sys.argv[1]):
    kind, _, rest = line.strip().partition(" ")
    if kind == "SC":
        job, config, _n, rate, _ratio, cpu, rss = (re.split(r"\s{2,}", rest.strip()) + [""] * 7)[:7]
        add((job.lower(), "SC", config.replace("builder ", "")), float(rate), float(cpu or "nan"), float(rss or "nan"))
    elif kind == "FLINK" and rest.startswith("RESULT"):
        f = dict(kv.split("=", 1) for kv in rest.split()[1:])
        pending = (f["job"].lower(), "FLINK", "p=" + f["par"]), float(f["rec_per_s"])
    elif kind == "FLINK" and rest.startswith("PROC"):
        f = dict(kv.split("=", 1) for kv in rest.split()[1:])
        add(pending[0], pending[1], float(f["user_s"]) + float(f["sys_s"]), float(f["maxrss_kib"]) / 1024)
med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in rows.items()}
print(f"{'job':<10} {'config':<18} {'StreamCrab rec/s':>17} {'Flink rec/s':>12} {'SC/Flink':>9} {'SC/loop':>8}"
      f" {'SC CPU s':>9} {'Flink CPU s':>12} {'SC RSS MiB':>11} {'Flink RSS MiB':>14}")
for job in ("wordcount", "windowagg", "mapfilter"):
    loop = med.get((job, "SC", "hand-written loop"), (float("nan"),) * 3)[0]
    for p in ("p=1", "p=1 checkpoint 1s", "p=2"):
        sc = med.get((job, "SC", p))
        if sc is None:
            continue
        fl = med.get((job, "FLINK", p), (0.0, float("nan"), float("nan")))
        ratio = f"{sc[0] / fl[0]:8.1f}x" if fl[0] else "        -"
        print(f"{job:<10} {p:<18} {sc[0]:>17,.0f} {fl[0]:>12,.0f} {ratio} {sc[0] / loop:7.2f}x"
              f" {sc[1]:>9.2f} {fl[1]:>12.2f} {sc[2]:>11.0f} {fl[2]:>14.0f}")
print(f"medians of {max(len(v) for v in rows.values())} interleaved repetitions; Flink CPU s and RSS are the whole JVM"
      " process (start-up included), StreamCrab's the bench process during the run")
PY
rm -f "$LOG"
