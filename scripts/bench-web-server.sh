#!/usr/bin/env bash
# Benchmark: wsgi-tutor's web server against real nginx (one worker), same configuration,
# side by side in one run.
#
#   scripts/bench-web-server.sh [SECONDS_PER_RUN] [ROUNDS] [ROW_FILTER]
#
# ROW_FILTER (a grep -E pattern over the row labels, e.g. 'KiB|keepalive') runs only some rows.
# Rows: a 1 KiB static file, a 1 MiB static file, a proxied request to a fixed fast upstream
# (another nginx answering `return 200`) with nginx's default upstream handling (HTTP/1.0,
# a new connection per request), and the same with `keepalive` + `proxy_http_version 1.1`.
# The server under test is pinned to CPU 0, wrk and the upstream to CPU 1 (taskset); the
# targets alternate round by round and the script prints medians and the ratio, because
# absolute numbers drift between machines and runs, same-run ratios do not.
# Needs: nginx, wrk, taskset (Debian: nginx-light wrk util-linux). Loopback only.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-3}
filter=${3:-.}
for tool in nginx wrk taskset; do
  command -v $tool >/dev/null || { echo "bench: $tool is not installed (apt-get install nginx-light wrk util-linux)" >&2; exit 2; }
done
cargo build --release -q
bin=$PWD/target/release/wsgi-tutor
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
mkdir -p "$work/static" "$work/nginx-up" "$work/nginx-test"
head -c 1024 /dev/urandom > "$work/static/1k.bin"
head -c $((1024*1024)) /dev/urandom > "$work/static/1m.bin"
cp assets/mime.types "$work/mime.types"

up=$(free_port); ng=$(free_port); ours=$(free_port)

cat > "$work/upstream.conf" <<EOF
worker_processes 1;
error_log $work/nginx-up/error.log;
pid $work/nginx-up/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $work/nginx-up; proxy_temp_path $work/nginx-up;
  fastcgi_temp_path $work/nginx-up; uwsgi_temp_path $work/nginx-up; scgi_temp_path $work/nginx-up;
  keepalive_requests 100000;
  server { listen 127.0.0.1:$up; location / { return 200 "hello from the upstream\n"; } }
}
EOF

# The configuration under test: the same text for both servers, only the port differs.
site() {
  cat <<EOF
events { worker_connections 4096; }
http {
  include $work/mime.types;
  default_type application/octet-stream;
  access_log off;
  keepalive_requests 100000;
  # As many idle connections as wrk keeps open, so the row measures reuse, not churn
  # (with fewer, both servers close and reopen upstream connections all the time).
  upstream pooled { server 127.0.0.1:$up; keepalive 64; }
  server {
    listen 127.0.0.1:$1;
    location /static/ { alias $work/static/; }
    location /proxy { proxy_pass http://127.0.0.1:$up; }
    location /pooled { proxy_pass http://pooled; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
EOF
}
{
  echo "worker_processes 1; error_log $work/nginx-test/error.log; pid $work/nginx-test/nginx.pid;"
  site "$ng" | sed "s|http {|http { client_body_temp_path $work/nginx-test; proxy_temp_path $work/nginx-test; fastcgi_temp_path $work/nginx-test; uwsgi_temp_path $work/nginx-test; scgi_temp_path $work/nginx-test;|"
} > "$work/nginx-test.conf"
# keepalive_requests is nginx-only tuning; ours keeps connections open without a count.
site "$ours" | grep -v keepalive_requests > "$work/ours.conf"

taskset -c 1 nginx -p "$work/nginx-up" -c "$work/upstream.conf" -g 'daemon off; master_process off;' &
pids+=($!)
taskset -c 0 nginx -p "$work/nginx-test" -c "$work/nginx-test.conf" -g 'daemon off; master_process off;' &
pids+=($!)
taskset -c 0 "$bin" web-server -c "$work/ours.conf" 2>"$work/ours.err" &
pids+=($!)
for port in $up $ng $ours; do
  for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/" -w '' 2>/dev/null && break; curl -s -o /dev/null "http://127.0.0.1:$port/static/1k.bin" && break; sleep 0.1; done
done

# One wrk run: prints requests/s.
run() {
  taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency "http://127.0.0.1:$1$2" 2>/dev/null \
    | awk '/Requests\/sec/ {print $2}'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

rows=("/static/1k.bin|1 KiB static file" "/static/1m.bin|1 MiB static file" "/proxy|proxy, new upstream connection each time" "/pooled|proxy, keepalive pool + HTTP/1.1")
printf '| %-42s | %12s | %12s | %6s |\n' "request" "nginx req/s" "ours req/s" "ratio"
printf '|%s|%s|%s|%s|\n' "--------------------------------------------" "--------------" "--------------" "--------"
for row in "${rows[@]}"; do
  path=${row%%|*}; label=${row#*|}
  grep -qE -- "$filter" <<<"$label" || continue
  n=(); o=()
  for _ in $(seq "$rounds"); do
    n+=("$(run "$ng" "$path")")
    o+=("$(run "$ours" "$path")")
  done
  nm=$(printf '%s\n' "${n[@]}" | median); om=$(printf '%s\n' "${o[@]}" | median)
  ratio=$(awk -v a="$om" -v b="$nm" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
  printf '| %-42s | %12.0f | %12.0f | %6s |\n' "$label" "$nm" "$om" "$ratio"
done
echo
echo "wrk -t1 -c64 -d${secs}s, median of $rounds alternating rounds; servers on CPU 0, wrk and upstream on CPU 1; $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
