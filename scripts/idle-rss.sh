#!/bin/bash
# Idle memory of `subca serve`, for each worker count given ("default"
# leaves --workers out): VmRSS (from /proc/PID/status) one second after
# the server printed "listening on", before any request (as bench/run
# measures it), and one second after it answered /healthz (a worker has
# then opened its store connection, and the group commit its writer).
# Prints one line per count, in KiB.
#
#   scripts/idle-rss.sh [SUBCA_BINARY] [WORKERS...]
#   scripts/idle-rss.sh build/rel/subca 1 2 default
set -euo pipefail

SUBCA=$(readlink -f "${1:-build/rel/subca}")
shift || true
[ $# -gt 0 ] || set -- 1 2 default
T=$(mktemp -d)
PID=
cleanup() {
	[ -z "$PID" ] || kill "$PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
export SUBCA_DATA=$T/data
unset SUBCA_PASSPHRASE

"$SUBCA" init >/dev/null 2>&1
"$SUBCA" authority create server-tls --generate-root >/dev/null 2>&1

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

for w in "$@"; do
	port=$(free_port)
	args=(--listen "127.0.0.1:$port" --tls-authority server-tls
	      --tls-root-out "$T/ca.pem")
	[ "$w" = default ] || args+=(--workers "$w")
	"$SUBCA" serve "${args[@]}" 2>"$T/serve.log" &
	PID=$!
	for _ in $(seq 1 100); do
		grep -q "listening on" "$T/serve.log" && break
		sleep 0.1
	done
	sleep 1
	idle=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status")
	threads=$(awk '/^Threads:/ { print $2 }' "/proc/$PID/status")
	curl -sS --cacert "$T/ca.pem" -o /dev/null \
		"https://127.0.0.1:$port/healthz"
	sleep 1
	rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$PID/status")
	printf 'workers=%-8s VmRSS=%6s KiB (threads=%s)  after /healthz=%6s KiB\n' \
		"$w" "$idle" "$threads" "$rss"
	kill "$PID"
	wait "$PID" 2>/dev/null || true
	PID=
done
