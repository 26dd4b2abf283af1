#!/usr/bin/env bash
# Same-run comparison of StreamCrab with Apache Flink 2.3 and, when ../shared/bench/rust-peers
# (or RUST_PEERS_SRC) is there, with Renoir 0.6, Timely 0.32 and that folder's hand-written loop,
# on WordCount, WindowAgg and MapFilter (same generators and checksums everywhere), interleaved
# over REPS repetitions, printing medians and ratios. The Flink side is this repository's
# bench/flink (Java sources compiled against the jars of the PyPI wheel
# apache-flink-libraries==2.3.0, installed on first use).
#
# Timing runs use discarding sinks on every side (StreamCrab's `sink=discard`, Flink's and the
# peers' default); StreamCrab's checksums are checked against Flink's once first, with its
# checksum sink, at the same sizes.
#
#   bench/compare.sh                 # REPS=3, WordCount 2M lines, WindowAgg 15M, MapFilter 300M
#   REPS=5 LINES=200000 bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."
REPS="${REPS:-3}"
LINES="${LINES:-2000000}"
EVENTS="${EVENTS:-15000000}"
LONGS="${LONGS:-300000000}"
PEERS_SRC="${RUST_PEERS_SRC:-../shared/bench/rust-peers}"
PEERS_DIR="${RUST_PEERS_DIR:-$HOME/.cache/streamcrab-bench/rust-peers}"
LOG="$(mktemp)"

bench/flink/flink.sh install
BIN="$(bench/bench-bin.sh)"
[ -x "$BIN" ] || { echo "could not build the StreamCrab bench" >&2; exit 2; }
PEERS=""
if [ -d "$PEERS_SRC" ]; then
  # --update: files already copied keep their times, so cargo does not rebuild the peers.
  mkdir -p "$PEERS_DIR" && cp -r --update "$PEERS_SRC"/. "$PEERS_DIR"/
  # The peers build into their own target dir, where run.sh looks (not the caller's CARGO_TARGET_DIR).
  if (cd "$PEERS_DIR" && CARGO_TARGET_DIR="$PEERS_DIR/target" RUST_PEERS_DIR="$PEERS_DIR" ./build.sh >/dev/null 2>&1); then PEERS=1; fi
fi
[ -n "$PEERS" ] || echo "Rust peers not built (no $PEERS_SRC, or its build failed): comparing with Flink only" >&2

echo "# checksums (StreamCrab's checksum sink; asserted equal to Flink's table)"
"$BIN" lines="$LINES" events="$EVENTS" longs="$LONGS" runs=1 only=wordcount,windowagg,mapfilter | grep '^checksum '

peer() { # engine job n par
  RUST_PEERS_DIR="$PEERS_DIR" "$PEERS_DIR/run.sh" "$1" "$2" n="$3" par="$4" 2>/dev/null | sed "s/^/PEER $1 /" | tee -a "$LOG"
}

for rep in $(seq "$REPS"); do
  echo "# repetition $rep" | tee -a "$LOG"
  "$BIN" lines="$LINES" events="$EVENTS" longs="$LONGS" runs=1 only=wordcount,windowagg,mapfilter sink=discard \
    | grep -E '^(wordcount|windowagg|mapfilter) ' | sed 's/^/SC /' | tee -a "$LOG"
  for par in 1 2; do
    for job in WordCount:"$LINES":wordcount WindowAgg:"$EVENTS":window MapFilter:"$LONGS":mapfilter; do
      IFS=: read -r name n peer_job <<<"$job"
      [ "$name" = MapFilter ] && [ "$par" = 2 ] && continue
      out="$(bench/flink/flink.sh run "$name" "$n" "$par" 2>/dev/null || true)"
      echo "$out" | sed 's/^/FLINK /' | tee -a "$LOG"
      want="$(grep -E "^\| $name \| $n \|" bench/flink/CHECKSUMS.md | cut -d'|' -f4 | tr -d ' ,' || true)"
      got="$(echo "$out" | sed -n 's/.*out_checksum=\([0-9]*\).*/\1/p')"
      if [ -n "$want" ] && [ "$want" != "$got" ]; then
        echo "Flink $name n=$n p=$par: checksum $got, expected $want" >&2; exit 1
      fi
      if [ -n "$PEERS" ]; then
        [ "$par" = 1 ] && peer handloop "$peer_job" "$n" 1
        peer renoir-jobs "$peer_job" "$n" "$par"
        peer timely-jobs "$peer_job" "$n" "$par"
      fi
    done
  done
done

python3 - "$LOG" <<'PY'
import re, statistics, sys
rows = {}
def add(key, rate, rss, per_cpu):
    rows.setdefault(key, []).append((rate, rss, per_cpu))
JOBS = {"wordcount": "wordcount", "window": "windowagg", "windowagg": "windowagg", "mapfilter": "mapfilter"}
pending = {}
for line in open(sys.argv[1]):
    kind, _, rest = line.strip().partition(" ")
    if kind == "SC":
        job, config, n, rate, _ratio, cpu, rss = (re.split(r"\s{2,}", rest.strip()) + [""] * 7)[:7]
        records = float(n) * (10 if job.lower() == "wordcount" else 1)  # WordCount's n is lines of 10 words
        add((job.lower(), "SC", config.replace("builder ", "")), float(rate), float(rss or "nan"), records / float(cpu or "nan"))
    elif kind in ("FLINK", "PEER"):
        engine, rest = ("Flink", rest) if kind == "FLINK" else rest.split(" ", 1)
        what, _, fields = rest.partition(" ")
        f = dict(kv.split("=", 1) for kv in fields.split() if "=" in kv)
        if what == "RESULT":
            key = (JOBS[f["job"].lower()], engine, "p=" + f["par"])
            # The peers report CPU inside the job; Flink's runner only the whole JVM's (PROC).
            pending[engine] = key, float(f["rec_per_s"]), float(f.get("rec_per_cpu_s", "nan"))
        elif what == "PROC" and engine in pending:
            rss = float(f["maxrss_kib"]) / 1024 if "maxrss_kib" in f else float(f.get("proc_maxrss_mb", "nan"))
            (key, rate, per_cpu) = pending.pop(engine)
            add(key, rate, rss, per_cpu)
med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in rows.items()}
nan = (float("nan"),) * 3
def rate(job, engine, p):
    return med.get((job, engine, p), nan)[0]
print(f"{'job':<10} {'p':<4} {'StreamCrab':>13} {'Flink':>12} {'Renoir':>13} {'Timely':>13} {'loop':>13}"
      f" {'SC/Flink':>9} {'SC/best peer':>13} {'SC/loop':>8} {'SC/our loop':>12} {'RSS MiB SC/Flink':>17}")
for job in ("wordcount", "windowagg", "mapfilter"):
    ours = rate(job, "SC", "hand-written loop")
    for p in ("p=1", "p=2"):
        sc = med.get((job, "SC", p))
        if sc is None:
            continue
        flink, renoir, timely = (rate(job, e, p) for e in ("Flink", "renoir-jobs", "timely-jobs"))
        loop = rate(job, "handloop", "p=1")
        peers = [r for r in (flink, renoir, timely) if r == r]
        best = max(peers) if peers else float("nan")
        fl_rss = med.get((job, "Flink", p), nan)[1]
        print(f"{job:<10} {p:<4} {sc[0]:>13,.0f} {flink:>12,.0f} {renoir:>13,.0f} {timely:>13,.0f} {loop:>13,.0f}"
              f" {sc[0] / flink:>8.1f}x {sc[0] / best:>12.2f}x {sc[0] / loop:>7.2f}x {sc[0] / ours:>11.2f}x"
              f" {sc[1]:>8.0f}/{fl_rss:<8.0f}")
owned = rate("wordcount", "SC", "loop, owned records")
if owned == owned:
    print(f"WordCount, the loop moving owned records (a String per word, a cloned output): {owned:,.0f} words/s"
          f" = {owned / rate('wordcount', 'Flink', 'p=1'):.1f}x Flink p=1; StreamCrab p=1 is"
          f" {rate('wordcount', 'SC', 'p=1') / owned:.2f}x of it")
inline = [rate("wordcount", "SC", f"inline words p={p}") for p in (1, 2)]
if inline[0] == inline[0]:
    print(f"WordCount with inline words (compact_str, no allocation per word): p=1 {inline[0]:,.0f} words/s"
          f" = {inline[0] / rate('wordcount', 'Flink', 'p=1'):.1f}x Flink, p=2 {inline[1]:,.0f}"
          f" = {inline[1] / rate('wordcount', 'Flink', 'p=2'):.1f}x Flink")
print(f"records/s, medians of {max(len(v) for v in rows.values())} interleaved repetitions, discarding sinks;"
      " loop = ../shared/bench's hand-written loop, our loop = the bench's own (same run);"
      " Flink RSS is the whole JVM process, StreamCrab's the bench process during the run")
# Records per CPU-second are steadier than records/s when other tenants load the machine.
print(f"\n{'job':<10} {'p':<4} {'SC rec/CPU-s':>13} {'Renoir':>13} {'Timely':>13} {'loop':>13} {'SC/Renoir':>10} {'SC/loop':>8}")
for job in ("wordcount", "windowagg", "mapfilter"):
    for p in ("p=1", "p=2"):
        if (job, "SC", p) not in med:
            continue
        sc, renoir, timely = (med.get((job, e, p), nan)[2] for e in ("SC", "renoir-jobs", "timely-jobs"))
        loop = med.get((job, "handloop", p), nan)[2]
        vs_loop = f"{sc / loop:>7.2f}x" if loop == loop else ""
        print(f"{job:<10} {p:<4} {sc:>13,.0f} {renoir:>13,.0f} {timely:>13,.0f} {loop:>13,.0f} {sc / renoir:>9.2f}x {vs_loop}")
print("records per CPU-second: StreamCrab's whole process during the run, the peers' CPU inside the job"
      " (Flink's runner reports only its whole JVM's, start-up included, so it is left out)")
PY
rm -f "$LOG"
