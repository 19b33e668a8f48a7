#!/bin/bash
# `subca serve` over real HTTPS: health and metrics, the public per-authority
# endpoints by path and by host, problems for unknown authorities, bodies
# over the cap and too many connections, a slow client cut off while others
# are served, TLS versions, certificate reload on SIGHUP (issued and files),
# and a clean exit on SIGTERM with a request in flight.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"

# ---------------------------------------------------------------- setup

# corp: an imported bundle (anchor + the customer's own signing CA), so that
# /chain must carry the customer CA after the intermediate.
corp_authority() {
	gen_root openssl ec-p256 "$W/anchor" "Corp Anchor"
	openssl_genkey ec-p256 "$W/sub.key"
	openssl req -new -key "$W/sub.key" -subj "/O=subca tests/CN=Corp Signing CA" \
		-out "$W/sub.csr"
	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n' >"$W/sub.ext"
	openssl x509 -req -in "$W/sub.csr" -CA "$W/anchor/root.crt" \
		-CAkey "$W/anchor/root.key" -CAcreateserial -days 3000 \
		-extfile "$W/sub.ext" -out "$W/sub.crt" 2>/dev/null
	cat "$W/anchor/root.crt" "$W/sub.crt" >"$W/bundle.pem"
	sc authority create corp --subdomain corpsub
	sc root import corp "$W/bundle.pem"
	sc intermediate request corp --cn "Corp Issuing CA" --out "$W/corp.csr" 2>/dev/null
	sc sign-intermediate --root-cert "$W/sub.crt" --root-key "$W/sub.key" \
		"$W/corp.csr" --out "$W/corp.crt"
	sc intermediate import corp "$W/corp.crt"
}

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root
	sc authority create demo --subdomain dm --generate-root
	sc authority create empty
	corp_authority
}
step "data dir with a TLS authority, a generated-root and an imported-bundle authority" setup

PORT=$(free_port)
URL=https://127.0.0.1:$PORT
CA=$T/tls-root.pem

# exit_status LOG: wait (at most 15 s) for the server of LOG to exit; print
# its exit status.
exit_status() {
	local i
	for i in $(seq 1 150); do
		[ -s "$1.rc" ] && { cat "$1.rc"; return 0; }
		sleep 0.1
	done
	echo timeout
}

start_main() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 2 \
		--tls-authority server-tls --tls-root-out "$CA" \
		--base-domain example.test --header-timeout 4
	has "$T/serve.log" "subca: listening on https://127.0.0.1:$PORT/"
	[ -s "$CA" ]
}
step "serve starts on 127.0.0.1 with a certificate from its TLS authority" start_main
MAIN_PID=$(cat "$T/serve.log.pid" 2>/dev/null || echo 0)

# get PATH [CURL ARGS...]: body in $W/body, "STATUS CONTENT-TYPE" in $W/meta.
get() {
	local path=$1
	shift
	curl -sS --cacert "$CA" -o "$W/body" -D "$W/headers" \
		-w '%{http_code} %{content_type}' "$@" "$URL$path" >"$W/meta"
}

# problem STATUS TYPE: the last response was that RFC 7807 problem.
problem() {
	read -r status ctype <"$W/meta" || true
	[ "$status" = "$1" ] || { log "status $status, want $1"; cat "$W/body" >&2; return 1; }
	[ "$ctype" = "application/problem+json" ] || { log "content type $ctype"; return 1; }
	"$PY" - "$W/body" "$1" "$2" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
assert p["status"] == int(sys.argv[2]), p
assert p["type"] == "urn:subca:error:" + sys.argv[3], p
assert p["title"] and p["detail"], p
EOF
}

healthz() {
	get /healthz
	[ "$(cat "$W/meta")" = "200 application/json" ]
	[ "$(cat "$W/body")" = '{"status":"ok"}' ]
	grep -qi '^x-request-id: [0-9a-f]\{16\}' "$W/headers"
}
step "GET /healthz answers ok over TLS verified against the TLS root" healthz

# libcurl is loaded on first use (http-01, remote CLI), never at start-up;
# so is libresolv (dns-01), and libevent comes as libevent_core only.
no_libcurl() {
	ldd "$SUBCA" >"$W/ldd"
	grep libssl "$W/ldd" >/dev/null # ldd worked
	lacks "$W/ldd" libcurl
	lacks "$W/ldd" libresolv
	lacks "$W/ldd" "libevent-2"
	grep libssl "/proc/$MAIN_PID/maps" >/dev/null # the maps are readable
	lacks "/proc/$MAIN_PID/maps" libcurl
	lacks "/proc/$MAIN_PID/maps" libresolv
}
step "subca links neither libcurl nor libresolv, and a serving server has not loaded them" no_libcurl

# every thread of the server runs as SCHED_BATCH (policy 3), set before any
# thread starts; workers are named
sched_batch() {
	local t n=0
	for t in /proc/"$MAIN_PID"/task/*; do
		awk '$1 == "policy" {print $3}' "$t/sched" >"$W/policy"
		[ "$(cat "$W/policy")" = 3 ] || {
			echo "thread $(cat "$t/comm") has policy $(cat "$W/policy")"
			return 1
		}
		n=$((n + 1))
	done
	[ "$n" -ge 2 ]
	cat /proc/"$MAIN_PID"/task/*/comm >"$W/comm"
	grep -x subca-worker0 "$W/comm" >/dev/null
}
step "every server thread is SCHED_BATCH; workers are named subca-workerN" sched_batch

by_path_and_host() {
	get /a/demo/chain
	[ "$(cut -d' ' -f1 "$W/meta")" = 200 ]
	cp "$W/body" "$W/demo-chain-path.pem"
	get /a/demo/roots
	cp "$W/body" "$W/demo-roots-path.pem"
	URL=https://dm.example.test:$PORT get /chain \
		--resolve "dm.example.test:$PORT:127.0.0.1"
	cmp "$W/body" "$W/demo-chain-path.pem"
	URL=https://dm.example.test:$PORT get /roots \
		--resolve "dm.example.test:$PORT:127.0.0.1"
	cmp "$W/body" "$W/demo-roots-path.pem"
	[ "$(pem_count "$W/demo-chain-path.pem")" = 1 ]
	[ "$(pem_count "$W/demo-roots-path.pem")" = 1 ]
	grep -q "application/pem-certificate-chain" "$W/meta"
}
step "/chain and /roots by path (/a/demo/) and by host (dm.example.test) agree" by_path_and_host

chain_verifies() {
	sc issue demo --cn app.example --san DNS:app.example \
		--out-key "$W/app.key" --out-cert "$W/app.pem" 2>/dev/null
	split_chain "$W/app.pem" "$W/app.crt" "$W/app-int.pem"
	openssl verify -x509_strict -CAfile "$W/demo-roots-path.pem" \
		-untrusted "$W/demo-chain-path.pem" "$W/app.crt"
	openssl verify -x509_strict -CAfile "$W/demo-roots-path.pem" \
		"$W/demo-chain-path.pem"
	# the imported bundle: the chain carries the customer's signing CA
	get /a/corp/chain
	cp "$W/body" "$W/corp-chain.pem"
	[ "$(pem_count "$W/corp-chain.pem")" = 2 ]
	URL=https://corpsub.example.test:$PORT get /roots \
		--resolve "corpsub.example.test:$PORT:127.0.0.1"
	[ "$(pem_count "$W/body")" = 2 ]
	sc issue corp --cn www.corp.example --out-key "$W/corp.key" \
		--out-cert "$W/corp-leaf.pem" 2>/dev/null
	split_chain "$W/corp-leaf.pem" "$W/corp-leaf.crt" "$W/rest.pem"
	openssl verify -x509_strict -CAfile "$W/anchor/root.crt" \
		-untrusted "$W/corp-chain.pem" "$W/corp-leaf.crt"
}
step "a leaf issued meanwhile verifies with /chain against /roots (also a bundle root)" chain_verifies

unknown() {
	get /a/nope/chain
	problem 404 not_found
	grep -q 'no authority named \\"nope\\"' "$W/body"
	URL=https://nope.example.test:$PORT get /chain \
		--resolve "nope.example.test:$PORT:127.0.0.1"
	problem 404 not_found
	get /a/server-tls/roots
	problem 404 not_found
	get /a/empty/chain
	problem 404 not_found
	grep -q "no active intermediate" "$W/body"
	get /a/empty/roots
	problem 404 not_found
	get /nothing/here
	problem 404 not_found
	get /healthz -X DELETE
	problem 405 method_not_allowed
	grep -qi '^allow: GET' "$W/headers"
}
step "unknown authority, hidden TLS authority, missing root, unknown path: 404/405 problems" unknown

too_large() {
	head -c 65536 /dev/zero >"$W/64k"
	head -c 65537 /dev/zero >"$W/64k+1"
	get /healthz -X GET --data-binary @"$W/64k"
	[ "$(cut -d' ' -f1 "$W/meta")" = 200 ]
	get /healthz -X GET --data-binary @"$W/64k+1"
	problem 413 too_large
	grep -q "65537 bytes (Content-Length) is over the limit of 65536" "$W/body"
	grep -qi '^connection: close' "$W/headers"
	# chunked, without a length: refused once the chunks pass the cap
	get /healthz -X POST --data-binary @"$W/64k+1" -H "Transfer-Encoding: chunked"
	problem 413 too_large
	grep -q "chunked request body is over the limit of 65536" "$W/body"
	# a certificate upload may be 1 MiB (answered before authentication)
	head -c 1048577 /dev/zero >"$W/1m+1"
	get /admin/v1/authorities/demo/root -X PUT --data-binary @"$W/1m+1"
	problem 413 too_large
	grep -q "over the limit of 1048576 bytes" "$W/body"
	head -c 1048576 /dev/zero >"$W/1m"
	get /admin/v1/authorities/demo/root -X PUT --data-binary @"$W/1m"
	problem 401 auth
	healthz
}
step "bodies over the route's cap (64 KiB, 1 MiB uploads; length or chunked) are 413 problem+json" too_large

big_headers() {
	local pad
	pad=$(head -c 20000 /dev/zero | tr '\0' a)
	get /healthz -H "X-Pad: $pad"
	problem 431 headers_too_large
	grep -q "over the limit of 16384 bytes" "$W/body"
	pad=$(head -c 15000 /dev/zero | tr '\0' a)
	get /healthz -H "X-Pad: $pad"
	[ "$(cat "$W/meta")" = "200 application/json" ]
}
step "a request head over 16 KiB is 431 problem+json; 15 KB passes" big_headers

# raw.py PORT CA REQUEST [WAIT]: send REQUEST (Python escapes) over TLS
# without reading first, and print what the server answers until it closes.
cat >"$W/raw.py" <<'EOF'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                    server_hostname="localhost")
t.sendall(sys.argv[3].encode().decode("unicode_escape").encode("latin1"))
t.settimeout(float(sys.argv[4]) if len(sys.argv) > 4 else 10)
out = b""
try:
    while True:
        d = t.recv(65536)
        if not d:
            break
        out += d
except (ConnectionError, ssl.SSLError, socket.timeout) as e:
    out += b"\n<<%r>>" % e
sys.stdout.write(out.decode("latin1"))
EOF

# statuses FILE: the status codes of the responses in FILE, on one line.
statuses() { grep -ao 'HTTP/1\.[01] [0-9]*' "$1" | cut -d' ' -f2 | tr '\n' ' '; }

raw() { "$PY" "$W/raw.py" "$PORT" "$CA" "$1" >"$W/raw.out"; }

huge_length() {
	# a length of 10 GB whose body never comes: answered at once
	raw 'POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000000\r\n\r\n'
	[ "$(statuses "$W/raw.out")" = "413 " ]
	has "$W/raw.out" '"type":"urn:subca:error:too_large"'
	has "$W/raw.out" "10000000000 bytes (Content-Length) is over the limit of 65536"
	lacks "$W/raw.out" "<<"
	# pipelined behind a good request: that one is answered first
	raw 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nPOST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000000\r\n\r\n'
	[ "$(statuses "$W/raw.out")" = "200 413 " ]
	# a chunk size past the cap, before its data
	raw 'POST /healthz HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nfffffff\r\n'
	[ "$(statuses "$W/raw.out")" = "413 " ]
	# ambiguous framing is a problem too, never libevent's HTML
	raw 'POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n'
	[ "$(statuses "$W/raw.out")" = "400 " ]
	has "$W/raw.out" '"type":"urn:subca:error:bad_http"'
	raw 'TRACE / HTTP/1.1\r\nHost: localhost\r\n\r\n'
	[ "$(statuses "$W/raw.out")" = "501 " ]
	has "$W/raw.out" '"type":"urn:subca:error:not_implemented"'
}
step "a huge Content-Length is 413 at once (also pipelined), bad framing 400, TRACE 501" huge_length

# client.py [--tls CA] MODE PORT OUT [REQUEST]: connect to 127.0.0.1:PORT
# (over TLS verified by CA), send per MODE, read until the server closes;
# prints the seconds that took and the bytes read, written to OUT.
#   slow: half a request line, then nothing   idle: one whole request
#   hold: nothing, close after REQUEST seconds   raw: REQUEST (\r\n escapes)
cat >"$W/client.py" <<'EOF'
import socket, ssl, sys, time
args = sys.argv[1:]
ca = None
if args[0] == "--tls":
    ca, args = args[1], args[2:]
mode, port, out = args[0], int(args[1]), args[2]
s = socket.create_connection(("127.0.0.1", port))
if ca is not None:
    s = ssl.create_default_context(cafile=ca).wrap_socket(
        s, server_hostname="localhost")
if mode == "hold":
    print("held", flush=True)
    time.sleep(float(args[3]))
    sys.exit(0)
if mode == "slow":
    s.sendall(b"GET /heal")
elif mode == "idle":
    s.sendall(b"GET /a/demo/roots HTTP/1.1\r\nHost: localhost\r\n\r\n")
else:
    s.sendall(args[3].encode().decode("unicode_escape").encode("latin-1"))
s.settimeout(30)
t0 = time.monotonic()
data = b""
try:
    while True:
        d = s.recv(65536)
        if not d:
            break
        data += d
except (ConnectionError, ssl.SSLError):
    pass
print("%.1f %d" % (time.monotonic() - t0, len(data)))
open(out, "wb").write(data)
EOF

slow_client() {
	"$PY" "$W/client.py" --tls "$CA" slow "$PORT" "$W/slow.body" >"$W/slow.out" &
	local slow=$! i
	sleep 0.3
	for i in 1 2 3; do healthz; done
	kill -0 "$slow" # still held open while others are served
	wait "$slow"
	read -r secs bytes <"$W/slow.out"
	log "slow client answered after ${secs}s (header timeout 4 s)"
	[ "$bytes" -gt 0 ]
	[ "$(statuses "$W/slow.body")" = "408 " ]
	has "$W/slow.body" '"type":"urn:subca:error:request_timeout"'
	has "$W/slow.body" "Connection: close"
	"$PY" -c "import sys; sys.exit(0 if float('$secs') < 10 else 1)"
}
step "a client that never finishes its request line gets 408 while curl is served" slow_client

# s_client_close REQUEST: send REQUEST and wait for the server to close;
# it must send close_notify first (else s_client says "unexpected eof").
s_client_close() {
	{ printf "$1"; sleep 6; } | timeout 20 openssl s_client \
		-connect "127.0.0.1:${EOF_PORT:-$PORT}" -CAfile "${EOF_CA:-$CA}" \
		-servername localhost \
		-ign_eof >"$W/eof.log" 2>&1 || true
	if grep -qi "unexpected eof" "$W/eof.log"; then
		log "closed without close_notify"
		return 1
	fi
	grep -q "^closed" "$W/eof.log"
}

close_notify() {
	s_client_close 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'
	has "$W/eof.log" "HTTP/1.1 200 OK"
	s_client_close 'GET /heal'
	has "$W/eof.log" "HTTP/1.1 408 Request Timeout"
	s_client_close 'POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999\r\n\r\n'
	has "$W/eof.log" "HTTP/1.1 413 Content Too Large"
}
step "TLS close_notify before closing: Connection: close, 408, 413 (no unexpected eof)" close_notify

tls_versions() {
	! openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 -CAfile "$CA" \
		</dev/null >"$W/t11.log" 2>&1 || ! grep -q "Protocol  : TLSv1.1" "$W/t11.log"
	grep -qiE "alert|error|no protocols" "$W/t11.log"
	for v in 1_2 1_3; do
		openssl s_client -connect "127.0.0.1:$PORT" -tls$v -CAfile "$CA" \
			-verify_return_error -servername localhost -alpn http/1.1 \
			</dev/null >"$W/t$v.log" 2>&1 || true
		grep -q "New, TLSv${v/_/.}, Cipher is" "$W/t$v.log"
		grep -q "Verify return code: 0 (ok)" "$W/t$v.log"
		grep -q "ALPN protocol: http/1.1" "$W/t$v.log"
	done
	grep -qE "Cipher is ECDHE-(ECDSA|RSA)-(AES(128|256)-GCM|CHACHA20)" "$W/t1_2.log"
}
step "TLS 1.1 is refused; TLS 1.2 (ECDHE+AEAD) and 1.3 verify, ALPN http/1.1" tls_versions

metrics() {
	get /metrics
	grep -q "^200 text/plain" "$W/meta"
	has "$W/body" 'subca_requests_total{route="/healthz",method="GET",status="200"}'
	has "$W/body" 'subca_requests_total{route="/a/{authority}/chain",method="GET",status="200"}'
	has "$W/body" 'subca_requests_total{route="none",method="GET",status="404"}'
	has "$W/body" 'subca_request_duration_seconds_bucket{route="/healthz",le="+Inf"}'
	has "$W/body" 'subca_connections_active '
	has "$W/body" '# TYPE subca_issuances_total counter'
	has "$W/body" 'subca_store_commit_batch_size_count '
}
step "GET /metrics: Prometheus text with requests, latencies, connections" metrics

logs() {
	"$PY" - "$T/serve.log" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
reqs = [l for l in lines if "request_id" in l]
assert reqs, "no request log lines"
keys = {"time", "request_id", "peer", "method", "path", "host", "authority",
        "route", "status", "bytes", "duration_ms"}
for r in reqs:
    assert set(r) == keys, r
assert any(r["authority"] == "demo" and r["host"] == "dm.example.test"
           for r in reqs)
EOF
	get "/healthz?token=sekrit-query-value" -H "Authorization: Bearer sekrit-bearer"
	sleep 0.2
	lacks "$T/serve.log" "sekrit"
}
step "one JSON log line per request; no query string or Authorization value" logs

# The serial the server presents. s_client's own exit status is ignored: it
# can report the server's close without close_notify as an error.
serial_of() {
	{ openssl s_client -connect "127.0.0.1:$1" -servername localhost \
		</dev/null 2>/dev/null || true; } | openssl x509 -noout -serial
}

hup_issued() {
	local before after i
	before=$(serial_of "$PORT")
	kill -HUP "$MAIN_PID"
	for i in $(seq 1 200); do
		after=$(serial_of "$PORT")
		[ "$after" != "$before" ] && break
		sleep 0.1
	done
	[ -n "$before" ] && [ "$after" != "$before" ]
	healthz
}
step "SIGHUP re-issues the certificate from the TLS authority (new serial)" hup_issued

cat >"$W/inflight.py" <<'EOF'
import os, signal, socket, ssl, sys, time
ctx = ssl.create_default_context(cafile=sys.argv[2])
t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))),
                    server_hostname="localhost")
t.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n12345")
time.sleep(0.3)
os.kill(int(sys.argv[3]), signal.SIGTERM)   # the request is half sent
time.sleep(1)
t.sendall(b"67890")
reply = b""
while True:
    d = t.recv(4096)
    if not d:
        break
    reply += d
print(reply.split(b"\r\n")[0].decode())
print("close" if b"Connection: close" in reply else "keep")
EOF

sigterm() {
	local rc
	"$PY" "$W/inflight.py" "$PORT" "$CA" "$MAIN_PID" >"$W/inflight.out"
	rc=$(exit_status "$T/serve.log")
	[ "$rc" = 0 ] || { log "exit status $rc"; return 1; }
	has "$W/inflight.out" "HTTP/1.1 200 OK"
	has "$W/inflight.out" "close"
	has "$T/serve.log" '"event":"stopped"'
	! curl -sS --cacert "$CA" "$URL/healthz" 2>/dev/null
}
step "SIGTERM: the in-flight request completes, then exit 0 and no listener" sigterm

# ------------------------------------------------ a second server: files

files_server() {
	sc issue demo --cn localhost --san DNS:localhost --san IP:127.0.0.1 \
		--out-key "$W/f.key" --out-cert "$W/f.pem" 2>/dev/null
	PORT2=$(free_port)
	start_server "$T/serve2.log" --listen "127.0.0.1:$PORT2" --workers 1 \
		--tls-cert "$W/f.pem" --tls-key "$W/f.key" --max-connections 1 \
		--idle-timeout 2
	echo "$(cat "$T/serve2.log.pid") $PORT2" >"$W/server2"
	curl -sS --cacert "$W/demo-roots-path.pem" "https://localhost:$PORT2/healthz" |
		grep -q '"ok"'
}
step "serve with --tls-cert/--tls-key (a leaf of demo, chain included)" files_server
read -r PID2 PORT2 <"$W/server2" || true


over_cap() {
	"$PY" "$W/client.py" --tls "$W/demo-roots-path.pem" hold "$PORT2" - 1.5 >"$W/hold.out" &
	local hold=$! i
	for i in $(seq 1 50); do grep -q held "$W/hold.out" && break; sleep 0.1; done
	URL=https://localhost:$PORT2 CA=$W/demo-roots-path.pem get /healthz
	problem 503 overloaded
	grep -qi '^retry-after: 1' "$W/headers"
	wait "$hold"
	for i in $(seq 1 50); do
		URL=https://localhost:$PORT2 CA=$W/demo-roots-path.pem get /healthz
		[ "$(cut -d' ' -f1 "$W/meta")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}
step "past --max-connections: 503 problem with Retry-After; served again after" over_cap

# Past twice the cap a new connection is closed at once, without a
# handshake or an answer: a flood holds at most about 2 x the cap.
shed() {
	local i rc=0
	"$PY" "$W/client.py" --tls "$W/demo-roots-path.pem" hold "$PORT2" - 2 >"$W/hold1.out" &
	local h1=$!
	for i in $(seq 1 50); do grep -q held "$W/hold1.out" && break; sleep 0.1; done
	"$PY" "$W/client.py" --tls "$W/demo-roots-path.pem" hold "$PORT2" - 2 >"$W/hold2.out" &
	local h2=$!
	for i in $(seq 1 50); do grep -q held "$W/hold2.out" && break; sleep 0.1; done
	curl -sS --cacert "$W/demo-roots-path.pem" -o /dev/null \
		"https://localhost:$PORT2/healthz" 2>"$W/shed.err" || rc=$?
	[ "$rc" != 0 ] || { log "a third connection was served"; return 1; }
	wait "$h1" "$h2"
	for i in $(seq 1 50); do
		curl -sS --cacert "$W/demo-roots-path.pem" "https://localhost:$PORT2/metrics" \
			>"$W/shed.metrics" 2>/dev/null && break
		sleep 0.1
	done
	grep -E '^subca_connections_shed_total [1-9]' "$W/shed.metrics" >/dev/null
}
step "past twice --max-connections: closed at once, no answer, counted" shed

idle_close() {
	EOF_PORT=$PORT2 EOF_CA=$W/demo-roots-path.pem \
		s_client_close 'GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n'
	has "$W/eof.log" "HTTP/1.1 200 OK"
	lacks "$W/eof.log" "HTTP/1.1 408"
}
step "a kept-alive connection idle past --idle-timeout is closed with close_notify, no 408" idle_close

hup_files() {
	local before after i
	before=$(serial_of "$PORT2")
	sc issue demo --cn localhost --san DNS:localhost \
		--out-key "$W/f2.key" --out-cert "$W/f2.pem" 2>/dev/null
	mv "$W/f2.key" "$W/f.key"
	mv "$W/f2.pem" "$W/f.pem"
	kill -HUP "$PID2"
	for i in $(seq 1 200); do
		after=$(serial_of "$PORT2")
		[ "$after" != "$before" ] && break
		sleep 0.1
	done
	[ -n "$before" ] && [ "$after" != "$before" ]
	[ "$after" = "$(openssl x509 -in "$W/f.pem" -noout -serial)" ]
}
step "SIGHUP reloads replaced certificate files (s_client sees the new serial)" hup_files

bad_reload() {
	local before i
	before=$(serial_of "$PORT2")
	echo garbage >"$W/f.pem"
	kill -HUP "$PID2"
	for i in $(seq 1 200); do
		grep -q '"event":"tls.error"' "$T/serve2.log" && break
		sleep 0.1
	done
	has "$T/serve2.log" '"event":"tls.error"'
	[ "$(serial_of "$PORT2")" = "$before" ]
	kill -TERM "$PID2"
	[ "$(exit_status "$T/serve2.log")" = 0 ]
}
step "a failed reload keeps the current certificate; SIGTERM exits 0" bad_reload

# ------------------------------------------- the plain-HTTP listener

# The public listener (--http-listen) is policed as the HTTPS one is: its
# own connection cap, the header and idle deadlines, and the framing limits
# answered as problems.
plain_server() {
	PORT4=$(free_port)
	HPORT4=$(free_port)
	start_server "$T/serve4.log" --listen "127.0.0.1:$PORT4" --workers 2 \
		--tls-authority server-tls --tls-root-out "$W/ca4.pem" \
		--http-listen "127.0.0.1:$HPORT4" --max-connections 1 \
		--header-timeout 3 --idle-timeout 2
	echo "$PORT4 $HPORT4" >"$W/server4"
	curl -sS -o "$W/p.body" -w '%{http_code}' \
		"http://127.0.0.1:$HPORT4/a/demo/roots" >"$W/p.code"
	[ "$(cat "$W/p.code")" = 200 ]
	has "$W/p.body" "BEGIN CERTIFICATE"
}
step "serve with --http-listen: the public routes over plain HTTP" plain_server
read -r PORT4 HPORT4 <"$W/server4" || true

# plain_get PATH: status and body of a plain-HTTP GET in $W/p.code, $W/p.body
plain_get() {
	curl -sS -D "$W/p.headers" -o "$W/p.body" -w '%{http_code}' \
		"http://127.0.0.1:$HPORT4$1" >"$W/p.code"
}

plain_slow() {
	"$PY" "$W/client.py" slow "$HPORT4" "$W/pslow.body" >"$W/pslow.out" &
	local slow=$! secs bytes
	sleep 0.5
	kill -0 "$slow" # held open, not yet cut off
	wait "$slow"
	read -r secs bytes <"$W/pslow.out"
	log "slow plain client answered after ${secs}s (header timeout 3 s)"
	[ "$(statuses "$W/pslow.body")" = "408 " ]
	has "$W/pslow.body" '"type":"urn:subca:error:request_timeout"'
	has "$W/pslow.body" "Connection: close"
	"$PY" -c "import sys; sys.exit(0 if 2.5 < float('$secs') < 8 else 1)"
}
step "plain HTTP: a request line never finished gets 408 after the header timeout" plain_slow

plain_over_cap() {
	"$PY" "$W/client.py" hold "$HPORT4" - 2 >"$W/phold.out" &
	local hold=$! i
	for i in $(seq 1 50); do grep -q held "$W/phold.out" && break; sleep 0.1; done
	sleep 0.2
	plain_get /a/demo/roots
	[ "$(cat "$W/p.code")" = 503 ]
	has "$W/p.body" '"type":"urn:subca:error:overloaded"'
	grep -qi '^retry-after: 1' "$W/p.headers"
	# the HTTPS listener counts its connections apart
	URL=https://127.0.0.1:$PORT4 CA=$W/ca4.pem get /healthz
	[ "$(cat "$W/meta")" = "200 application/json" ]
	wait "$hold"
	for i in $(seq 1 50); do
		plain_get /a/demo/roots
		[ "$(cat "$W/p.code")" = 200 ] && return 0
		sleep 0.1
	done
	return 1
}
step "plain HTTP: past --max-connections 503 with Retry-After (HTTPS still served)" plain_over_cap

plain_idle() {
	local secs bytes
	"$PY" "$W/client.py" idle "$HPORT4" "$W/pidle.body" >"$W/pidle.out"
	read -r secs bytes <"$W/pidle.out"
	log "kept-alive plain connection closed after ${secs}s (idle timeout 2 s)"
	[ "$(statuses "$W/pidle.body")" = "200 " ]
	"$PY" -c "import sys; sys.exit(0 if 1.5 < float('$secs') < 6 else 1)"
}
step "plain HTTP: a kept-alive connection idle past --idle-timeout is closed, no 408" plain_idle

plain_limits() {
	local big
	big=$(head -c 17000 /dev/zero | tr '\0' a)
	"$PY" "$W/client.py" raw "$HPORT4" "$W/pbig.body" \
		"GET /a/demo/roots HTTP/1.1\r\nHost: localhost\r\nX-Big: $big\r\n\r\n" >/dev/null
	[ "$(statuses "$W/pbig.body")" = "431 " ]
	has "$W/pbig.body" "application/problem+json"
	"$PY" "$W/client.py" raw "$HPORT4" "$W/plen.body" \
		"POST /a/demo/ocsp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10000000000\r\n\r\n" >/dev/null
	[ "$(statuses "$W/plen.body")" = "413 " ]
	has "$W/plen.body" '"type":"urn:subca:error:too_large"'
	stop_server "$T/serve4.log"
}
step "plain HTTP: a head over 16 KiB is 431, a huge body 413, both problems" plain_limits

# Out of descriptors, accept(2) fails and the pending connection stays:
# the listeners pause (a server.accept line at most every 100 ms per
# worker) instead of spinning, and serve again once connections close.
fd_exhaustion() {
	local port hport n
	port=$(free_port)
	hport=$(free_port)
	(ulimit -n 48
	 start_server "$T/serve5.log" --listen "127.0.0.1:$port" --workers 2 \
		--tls-authority server-tls --tls-root-out "$W/ca5.pem" \
		--http-listen "127.0.0.1:$hport")
	has "$T/serve5.log" '"event":"server.limit"'
	"$PY" - "$port" "$hport" <<'EOF'
import socket, sys, time
socks = [socket.create_connection(("127.0.0.1", int(sys.argv[1 + i % 2])))
         for i in range(60)]
time.sleep(1.5)
for s in socks:
    s.close()
EOF
	n=$(grep -c '"event":"server.accept"' "$T/serve5.log" || true)
	log "accept paused $n times"
	[ "$n" -ge 1 ] && [ "$n" -le 100 ]
	grep -q 'Too many open files; not accepting for 100 ms' "$T/serve5.log"
	lacks "$T/serve5.log" "Error from accept"
	sleep 0.3
	[ "$(curl -sS -o /dev/null -w '%{http_code}' \
		"http://127.0.0.1:$hport/a/demo/roots")" = 200 ]
	URL=https://127.0.0.1:$port CA=$W/ca5.pem get /healthz
	[ "$(cat "$W/meta")" = "200 application/json" ]
	stop_server "$T/serve5.log"
}
step "out of descriptors: accept pauses (no spin), both listeners serve again after" fd_exhaustion

refusals() {
	expect_fail USAGE 64 "--tls-authority" -- "$SUBCA" serve
	expect_fail USAGE 64 "go together" -- "$SUBCA" serve --tls-cert x
	expect_fail USAGE 64 "listen address" -- "$SUBCA" serve --listen nonsense \
		--tls-authority server-tls
	expect_fail USAGE 64 "needs a port" -- "$SUBCA" serve --listen 127.0.0.1 \
		--tls-authority server-tls
	expect_fail NOT_ACTIVE 6 -- "$SUBCA" serve --listen "127.0.0.1:$(free_port)" \
		--tls-authority empty
	"$PY" -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(1)
print(s.getsockname()[1], flush=True); time.sleep(5)' >"$W/busy" &
	local busy=$! i
	for i in $(seq 1 50); do [ -s "$W/busy" ] && break; sleep 0.1; done
	expect_fail IO 10 "cannot listen" -- "$SUBCA" serve \
		--listen "127.0.0.1:$(cat "$W/busy")" --tls-authority server-tls
	kill "$busy"
}
step "bad options, an inactive TLS authority and a taken port are refused" refusals


# Workers open their database connection with their first request, not at
# start: one that cannot open it answers 503 (the reason goes to the log,
# not to the client) and opens it with the next request.
lazy_store() {
	local port
	port=$(free_port)
	start_server "$T/serve3.log" --listen "127.0.0.1:$port" --workers 1 \
		--tls-authority server-tls --tls-root-out "$W/ca3.pem"
	mv "$SUBCA_DATA/subca.db" "$SUBCA_DATA/subca.db.away"
	URL=https://127.0.0.1:$port CA=$W/ca3.pem get /healthz
	mv "$SUBCA_DATA/subca.db.away" "$SUBCA_DATA/subca.db"
	problem 503 store
	has "$W/body" "the database cannot be opened"
	lacks "$W/body" "$SUBCA_DATA"
	has "$T/serve3.log" '"event":"store.error"'
	URL=https://127.0.0.1:$port CA=$W/ca3.pem get /healthz
	[ "$(cat "$W/meta")" = "200 application/json" ]
	stop_server "$T/serve3.log"
}
step "a worker opens its database with its first request; 503 while it cannot" lazy_store

finish
