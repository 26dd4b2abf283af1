#!/usr/bin/env bash
# StreamCrab's Flink side of the benchmark: installs Apache Flink 2.3.0 from the PyPI wheel
# apache-flink-libraries (it carries the jars; no Maven needed), compiles src/Jobs.java with javac
# against them, and runs one job in a local mini-cluster inside a plain JVM.
#
#   bench/flink/flink.sh install                 # venv + wheel (once) and javac
#   bench/flink/flink.sh run WindowAgg 15000000 2  # job, n, parallelism
#   bench/flink/flink.sh run WindowAggKeys 10000000 1 rocksdb 10000000  # ... state backend, keys
#
# `run` prints the job's RESULT line and a PROC line (process wall, user and system CPU seconds,
# peak RSS in MiB, from /usr/bin/time). Needs python3 (venv, pip) and a JDK 17 (java, javac).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
VENV="${FLINK_VENV:-$HOME/.cache/streamcrab-bench/flink-venv}"
FLINK_LIB="$(ls -d "$VENV"/lib/python3*/site-packages/pyflink/lib 2>/dev/null | head -1 || true)"
CLASSES="${FLINK_CLASSES:-$HOME/.cache/streamcrab-bench/streamcrab-flink-classes}"
# Flink's own JVM options for Java 17 (its config.yaml `env.java.opts.all`): Kryo and Pekko
# reflect into these packages.
OPENS=(--add-exports=java.base/sun.net.util=ALL-UNNAMED --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.text=ALL-UNNAMED --add-opens=java.base/java.time=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED)

case "${1:-}" in
  install)
    if [ -z "$FLINK_LIB" ] || [ ! -f "$FLINK_LIB/flink-dist-2.3.0.jar" ]; then
      python3 -m venv "$VENV"
      "$VENV/bin/pip" install -q apache-flink-libraries==2.3.0
      FLINK_LIB="$(ls -d "$VENV"/lib/python3*/site-packages/pyflink/lib | head -1)"
    fi
    mkdir -p "$CLASSES"
    javac -nowarn -encoding UTF-8 --release 17 -cp "$FLINK_LIB/*" -d "$CLASSES" "$HERE"/src/*.java
    ;;
  run)
    job="$2"; n="$3"; parallelism="${4:-1}"; backend="${5:-hashmap}"; keys="${6:-10000000}"
    times="$(mktemp)"
    /usr/bin/time -o "$times" -f "PROC wall_s=%e user_s=%U sys_s=%S maxrss_kib=%M" \
      java -Xms2g -Xmx2g -XX:+UseG1GC "${OPENS[@]}" -Dlog4j2.configurationFile="$HERE/log4j2.properties" \
      -cp "$CLASSES:$FLINK_LIB/*" Jobs "$job" "$n" "$parallelism" "$backend" "$keys" | grep '^RESULT'
    cat "$times"
    rm -f "$times"
    ;;
  *)
    echo "usage: $0 install | run <WordCount|WindowAgg|WindowAggKeys|MapFilter> <n> [parallelism] [hashmap|rocksdb] [keys]" >&2
    exit 2
    ;;
esac
