#!/usr/bin/env bash
# Benchmark the WSGI server against gunicorn (sync workers) and granian (WSGI interface),
# side by side in one run: each server gets 2 workers pinned to core 0, wrk runs on core 1.
#
#   scripts/bench-wsgi-server.sh            # needs wrk, taskset, python3 with gunicorn and granian
#   DURATION=20s CONNECTIONS=64 ROUNDS=1 scripts/bench-wsgi-server.sh
#
# Apps: hello.py (assets/apps) and a 10 KiB POST in / 10 KiB out app written below.
# Prints requests/s, p50 and p99 latency for each server and app, and the ratios. The
# measurements are interleaved over ROUNDS rounds and the best round of each counts, so a
# burst of other work on a shared machine does not decide the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
ROUNDS=${ROUNDS:-3}
SERVER_CPU=${SERVER_CPU:-0}
WRK_CPU=${WRK_CPU:-1}
PORT_BASE=${PORT_BASE:-18600}

for tool in wrk taskset python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is needed" >&2; exit 1; }
done
python3 -c 'import gunicorn' 2>/dev/null || python3 -m pip install -q gunicorn
python3 -c 'import granian' 2>/dev/null || python3 -m pip install -q granian

cargo build --release --quiet
BIN=$PWD/target/release/wsgi-tutor

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

cp assets/apps/hello.py "$WORK/hello.py"
cat > "$WORK/post10k.py" <<'PY'
"""Reads a request body (10 KiB in the benchmark) and answers 10 KiB."""
BODY = b"x" * 10240


def application(environ, start_response):
    length = int(environ.get("CONTENT_LENGTH") or 0)
    data = environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "application/octet-stream"),
                              ("Content-Length", str(len(BODY))),
                              ("X-Received", str(len(data)))])
    return [BODY]
PY
python3 - "$WORK/post.lua" <<'PY'
import sys
body = "y" * 10240
open(sys.argv[1], "w").write(
    'wrk.method = "POST"\n'
    'wrk.headers["Content-Type"] = "application/octet-stream"\n'
    'wrk.body = string.rep("y", 10240)\n'
)
PY

wait_port() {
  for _ in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "bench: nothing listens on port $1" >&2
  return 1
}

start_server() { # name app port
  local name=$1 app=$2 port=$3
  case $name in
    gunicorn)
      (cd "$WORK" && exec taskset -c "$SERVER_CPU" python3 -m gunicorn -w 2 -k sync \
        -b "127.0.0.1:$port" "$app:application" >/dev/null 2>&1) &
      ;;
    granian)
      (cd "$WORK" && exec taskset -c "$SERVER_CPU" python3 -m granian --interface wsgi \
        --workers 2 --host 127.0.0.1 --port "$port" --log-level warning "$app:application" \
        >/dev/null 2>&1) &
      ;;
    wsgi-tutor)
      (cd "$WORK" && exec taskset -c "$SERVER_CPU" "$BIN" wsgi-server -w 2 \
        -b "127.0.0.1:$port" "$app:application" >/dev/null 2>&1) &
      ;;
  esac
  PIDS+=($!)
  wait_port "$port"
  sleep 1 # let every worker boot
}

stop_server() {
  local pid=${PIDS[-1]}
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'PIDS[-1]'
  sleep 0.5
}

# wrk's latency lines are like "50%  1.23ms"; print them in microseconds.
to_us() {
  awk '{ v=$1; u=v; gsub(/[0-9.]/,"",u); gsub(/[a-z]/,"",v);
         if (u=="us") print v; else if (u=="ms") print v*1000; else if (u=="s") print v*1000000; else print v }'
}

declare -A RPS P50 P99
run_wrk() { # name app port
  local name=$1 app=$2 port=$3 script=()
  [ "$app" = post10k ] && script=(-s "$WORK/post.lua")
  # Warm up, then measure.
  taskset -c "$WRK_CPU" wrk -t1 -c8 -d2s "${script[@]}" "http://127.0.0.1:$port/" >/dev/null
  local out
  out=$(taskset -c "$WRK_CPU" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency \
    "${script[@]}" "http://127.0.0.1:$port/")
  if echo "$out" | grep -q "Non-2xx"; then
    echo "bench: $name on $app answered errors:" >&2
    echo "$out" >&2
  fi
  local rps p50 p99
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}' | to_us)
  p99=$(echo "$out" | awk '$1=="99%" {print $2}' | to_us)
  echo "round $round: $app $name $rps req/s, p50 ${p50} us, p99 ${p99} us" >&2
  if [ -z "${RPS[$name,$app]:-}" ] || [ "$(echo "$rps > ${RPS[$name,$app]}" | bc -l)" = 1 ]; then
    RPS[$name,$app]=$rps
    P50[$name,$app]=$p50
    P99[$name,$app]=$p99
  fi
}

SERVERS=(gunicorn granian wsgi-tutor)
APPS=(hello post10k)
port=$PORT_BASE
for round in $(seq 1 "$ROUNDS"); do
  for app in "${APPS[@]}"; do
    for name in "${SERVERS[@]}"; do
      port=$((port + 1))
      start_server "$name" "$app" "$port"
      run_wrk "$name" "$app" "$port"
      stop_server
    done
  done
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d$DURATION, best of $ROUNDS rounds; servers: 2 workers on CPU $SERVER_CPU; wrk on CPU $WRK_CPU"
echo "$(python3 --version), gunicorn $(python3 -c 'import gunicorn; print(gunicorn.__version__)'), granian $(python3 -m granian --version 2>/dev/null | awk '{print $NF}')"
printf '%-8s %-11s %10s %9s %9s %12s %12s\n' app server req/s p50_us p99_us vs_gunicorn vs_granian
for app in "${APPS[@]}"; do
  for name in "${SERVERS[@]}"; do
    r=${RPS[$name,$app]}
    printf '%-8s %-11s %10.0f %9.0f %9.0f %11.2fx %11.2fx\n' "$app" "$name" "$r" \
      "${P50[$name,$app]}" "${P99[$name,$app]}" \
      "$(echo "$r / ${RPS[gunicorn,$app]}" | bc -l)" "$(echo "$r / ${RPS[granian,$app]}" | bc -l)"
  done
done
