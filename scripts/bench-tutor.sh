#!/usr/bin/env bash
# bench-tutor.sh: the tutor's speed, measured from outside like a person would see it.
#
#   scripts/bench-tutor.sh [SECONDS_OF_LOAD]      (default 30; needs tmux, and wrk for the load)
#
# 1. First frame: launch the release build in a 120x40 tmux pane and poll the screen until
#    the diagram is drawn (resolution: one tmux capture, a few ms). The tutor also logs its
#    own figure (process start of the loop → first frame drawn) in STATE/tutor.log.
# 2. Idle CPU: with the stack up and nothing happening, utime+stime from /proc over 10 s.
# 3. Load: wrk against the web server (a static file: the web server's own speed, every
#    request still traced and shown) for SECONDS_OF_LOAD; the tutor's frames drawn (from its
#    log) give the frame rate under load, and VmRSS before and after shows memory stays
#    bounded (the traffic list keeps 500 requests).
# Numbers depend on the machine and on what else runs; run it on an idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
load_s=${1:-30}
bin=${BIN:-target/release/wsgi-tutor}
[ -x "$bin" ] || cargo build --release
command -v tmux >/dev/null || { echo "bench-tutor: needs tmux" >&2; exit 2; }
tmp=$(mktemp -d)
sock="bench-tutor-$$"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
web=$(free_port); wsgi=$(free_port)
cleanup() { tmux -L "$sock" kill-server 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

t0=$(date +%s%N)
tmux -L "$sock" -f /dev/null new-session -d -s bench -x 120 -y 40 \
  "exec '$PWD/$bin' --lab '$tmp/lab' --state-dir '$tmp/state' --web-port $web --wsgi-port $wsgi"
until tmux -L "$sock" capture-pane -p -t bench 2>/dev/null | grep -q "Diagram"; do :; done
t1=$(date +%s%N)
echo "first frame (seen in tmux):   $(( (t1 - t0) / 1000000 )) ms after launch"

pid=$(tmux -L "$sock" display -p -t bench '#{pane_pid}')
until curl -s -o /dev/null "http://127.0.0.1:$web/hello"; do sleep 0.2; done
sleep 5
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
a=$(ticks); sleep 10; b=$(ticks)
echo "idle CPU over 10 s:           $(awk -v d=$((b - a)) -v hz="$hz" 'BEGIN { printf "%.2f%%", d / hz / 10 * 100 }')"

rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
echo "memory before load:           $(rss) kB"
if command -v wrk >/dev/null; then
  wrk -t2 -c16 -d"${load_s}s" "http://127.0.0.1:$web/static/style.css" | grep -E "Requests/sec|requests in"
  echo "memory after load:            $(rss) kB"
else
  echo "load: skipped (wrk is not installed)"
fi
tmux -L "$sock" send-keys -t bench q
for _ in $(seq 50); do grep -q first_frame_ms "$tmp/state/tutor.log" 2>/dev/null && break; sleep 0.1; done
echo "the tutor's own figures:      $(grep -o 'first_frame_ms=.*' "$tmp/state/tutor.log" 2>/dev/null | tail -1)"
frames=$(sed -n 's/.*frames=\([0-9]*\).*/\1/p' "$tmp/state/tutor.log" | tail -1)
# Idle draws next to nothing, so nearly every frame was drawn under load.
[ -n "$frames" ] && echo "frames per second under load: ~$(( frames / load_s )) (frames / load seconds)"
