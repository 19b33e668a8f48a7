#!/bin/bash
# The sign API of `subca serve` over real HTTPS with curl: apikey and jwk
# provisioners made with the CLI, leaves that verify strictly against the
# root, refusals (replay, audience, another authority's token, names outside
# policy, CA request, bad CSR, oversized body), renewal and revocation with
# the leaf as the TLS client certificate, revocation by token, and 32
# concurrent clients, also through a kill -9 of the server, and clients that
# close before their answer.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"
DB=$SUBCA_DATA/subca.db
NCLIENTS=32

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root
	sc authority create demo --subdomain dm --generate-root
	sc authority create other --generate-root
	sc provisioner add demo svc --type apikey --allow-dns .example.test \
		--max-days 30 >"$W/apikey" 2>/dev/null
	grep -q '^subca_key_' "$W/apikey"
	openssl_genkey ec-p256 "$W/prov.key"
	openssl pkey -in "$W/prov.key" -pubout -out "$W/prov.pub" 2>/dev/null
	openssl_genkey ec-p256 "$W/evil.key"
	sc provisioner add demo ops --type jwk --jwk "$W/prov.pub" \
		--allow-dns .example.test --max-days 30
	sc provisioner add other ops --type jwk --jwk "$W/prov.pub" \
		--allow-any-name
}
step "authorities, an apikey and a jwk provisioner made with the CLI" setup
APIKEY=$(cat "$W/apikey" 2>/dev/null || true)

PORT=$(free_port)
URL=https://127.0.0.1:$PORT
HOSTURL=https://dm.example.test:$PORT
CA=$T/tls-root.pem

serve() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 4 \
		--tls-authority server-tls --tls-root-out "$CA" \
		--base-domain example.test
}
step "serve starts" serve

# csr NAME [OPENSSL REQ ARGS...]: $W/NAME.key and $W/NAME.csr for
# CN=NAME.example.test with that DNS SAN.
csr() {
	local n=$1
	shift
	openssl_genkey ec-p256 "$W/$n.key"
	openssl req -new -key "$W/$n.key" -subj "/CN=$n.example.test" \
		-addext "subjectAltName=DNS:$n.example.test" "$@" \
		-out "$W/$n.csr" 2>/dev/null
}

# body CSRFILE [TOKEN [DAYS]]: the JSON request body on stdout.
body() {
	"$PY" - "$@" <<'EOF'
import json, sys
b = {"csr": open(sys.argv[1]).read()}
if len(sys.argv) > 2 and sys.argv[2]:
    b["token"] = sys.argv[2]
if len(sys.argv) > 3:
    b["days"] = int(sys.argv[3])
print(json.dumps(b))
EOF
}

# post URL BODYFILE [CURL ARGS...]: body in $W/resp, status in $W/status.
post() {
	local u=$1 b=$2
	shift 2
	curl -sS --cacert "$CA" -o "$W/resp" -w '%{http_code} %{content_type}' \
		-H 'Content-Type: application/json' --data-binary "@$b" "$@" \
		"$u" >"$W/status"
}

# problem STATUS TYPE [DETAIL SUBSTRING]
problem() {
	read -r status ctype <"$W/status" || true
	[ "$status" = "$1" ] || { log "status $status, want $1"; cat "$W/resp" >&2; return 1; }
	[ "$ctype" = "application/problem+json" ] || { log "content type $ctype"; return 1; }
	"$PY" - "$W/resp" "$1" "$2" "${3:-}" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
assert p["status"] == int(sys.argv[2]), p
assert p["type"] == "urn:subca:error:" + sys.argv[3], p
assert sys.argv[4].lower() in p["detail"].lower(), p
EOF
}

# issued: the last response is a 201 JSON issuance; leaf to $W/leaf.pem,
# the CAs to $W/cas.pem, the serial to $W/serial.
issued() {
	read -r status ctype <"$W/status" || true
	[ "$status" = 201 ] || { log "status $status"; cat "$W/resp" >&2; return 1; }
	[ "$ctype" = application/json ] || { log "content type $ctype"; return 1; }
	"$PY" - "$W/resp" "$W" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
d = sys.argv[2]
assert r["certificate"].startswith("-----BEGIN CERTIFICATE-----"), r
assert len(r["chain"]) >= 1 and r["serial"] and r["not_after"].endswith("Z"), r
open(d + "/leaf.pem", "w").write(r["certificate"])
open(d + "/cas.pem", "w").write("".join(r["chain"]))
open(d + "/serial", "w").write(r["serial"])
EOF
}

verifies() {
	openssl verify -x509_strict -CAfile "$W/demo-root.pem" \
		-untrusted "$W/cas.pem" "$W/leaf.pem"
}

token() { # token NAME [subca token args...]
	local n=$1
	shift
	sc token demo --provisioner ops --key "$W/prov.key" \
		--san "$n.example.test" "$@"
}

apikey_sign() {
	curl -sS --cacert "$CA" -o "$W/demo-root.pem" "$URL/a/demo/roots"
	csr a1
	body "$W/a1.csr" >"$W/b"
	post "$URL/a/demo/sign" "$W/b" -H "Authorization: Bearer $APIKEY"
	issued
	verifies
	[ "$(sqlite3 "$DB" "SELECT provisioner FROM certificates WHERE serial='$(cat "$W/serial")'")" = svc ]
}
step "apikey: POST /a/demo/sign issues a leaf whose chain verifies -x509_strict, recorded for provisioner svc" apikey_sign

jwk_sign() {
	csr j1
	token j1 --aud "$URL/a/demo/sign" >"$W/tok"
	body "$W/j1.csr" "$(cat "$W/tok")" >"$W/b"
	post "$URL/a/demo/sign" "$W/b"
	issued
	verifies
	cp "$W/b" "$W/replay.json"
}
step "jwk: a token minted by 'subca token' in the body issues a leaf that verifies" jwk_sign

replay() {
	post "$URL/a/demo/sign" "$W/replay.json"
	problem 401 auth "already used"
}
step "the same token again is refused (401, already used)" replay

bearer_pem() {
	csr j2
	token j2 --aud "$URL/a/demo/sign" >"$W/tok"
	body "$W/j2.csr" >"$W/b"
	post "$URL/a/demo/sign" "$W/b" -H "Authorization: Bearer $(cat "$W/tok")" \
		-H "Accept: application/pem-certificate-chain"
	grep -q "^201 application/pem-certificate-chain" "$W/status"
	split_chain "$W/resp" "$W/leaf.pem" "$W/cas.pem"
	verifies
}
step "a token in the Bearer header with Accept: application/pem-certificate-chain gets the PEM chain" bearer_pem

host_form() {
	csr h1
	token h1 --aud "$HOSTURL/sign" >"$W/tok"
	body "$W/h1.csr" "$(cat "$W/tok")" >"$W/b"
	post "$HOSTURL/sign" "$W/b" --resolve "dm.example.test:$PORT:127.0.0.1"
	issued
	verifies
}
step "by host (dm.example.test/sign) with the host-form audience" host_form

wrong_aud() {
	csr w1
	token w1 --aud "https://elsewhere.test/a/demo/sign" >"$W/tok"
	body "$W/w1.csr" "$(cat "$W/tok")" >"$W/b"
	post "$URL/a/demo/sign" "$W/b"
	problem 401 token_audience "audience"
}
step "a token for another audience is refused (401 token_audience)" wrong_aud

other_authority() {
	csr o1
	sc token other --provisioner ops --key "$W/prov.key" \
		--san o1.example.test --aud "$URL/a/other/sign" >"$W/tok"
	body "$W/o1.csr" "$(cat "$W/tok")" >"$W/b"
	post "$URL/a/demo/sign" "$W/b"
	problem 401 token_audience
}
step "another authority's token is refused at demo" other_authority

wrong_key() {
	csr k1
	sc token demo --provisioner ops --key "$W/evil.key" \
		--san k1.example.test --aud "$URL/a/demo/sign" >"$W/tok"
	body "$W/k1.csr" "$(cat "$W/tok")" >"$W/b"
	post "$URL/a/demo/sign" "$W/b"
	problem 401 jws_signature
}
step "a token signed by another key is refused (401 jws_signature)" wrong_key

refusals() {
	openssl_genkey ec-p256 "$W/x.key"
	openssl req -new -key "$W/x.key" -subj "/CN=evil.test" \
		-out "$W/x.csr" 2>/dev/null
	body "$W/x.csr" >"$W/b"
	post "$URL/a/demo/sign" "$W/b" -H "Authorization: Bearer $APIKEY"
	problem 403 policy "evil.test"
	csr ca1 -addext "basicConstraints=critical,CA:TRUE"
	body "$W/ca1.csr" >"$W/b"
	post "$URL/a/demo/sign" "$W/b" -H "Authorization: Bearer $APIKEY"
	problem 403 policy "CA"
	echo '{"csr": "hello"}' >"$W/b"
	post "$URL/a/demo/sign" "$W/b" -H "Authorization: Bearer $APIKEY"
	problem 400 garbage
	csr d1
	body "$W/d1.csr" "" 31 >"$W/b"
	post "$URL/a/demo/sign" "$W/b" -H "Authorization: Bearer $APIKEY"
	problem 403 policy "30"
	post "$URL/a/demo/sign" "$W/b"
	problem 401 auth "no credential"
	head -c 70000 /dev/zero | tr '\0' 'a' >"$W/big"
	post "$URL/a/demo/sign" "$W/big" -H "Authorization: Bearer $APIKEY"
	problem 413 too_large
}
step "refusals name the rule: names outside policy, CA request, garbage CSR, lifetime cap, no credential, 65 KiB body -> 413" refusals

revoke() {
	printf '{"serial": "%s", "reason": "keyCompromise"}' "$(cat "$W/serial")" >"$W/b"
	post "$URL/a/demo/revoke" "$W/b" -H "Authorization: Bearer $APIKEY"
	problem 403 policy "API key"
	token h1 --aud "$URL/a/demo/sign" >"$W/tok"
	printf '{"serial": "%s", "reason": "keyCompromise", "token": "%s"}' \
		"$(cat "$W/serial")" "$(cat "$W/tok")" >"$W/b"
	post "$URL/a/demo/revoke" "$W/b"
	grep -q "^200 " "$W/status"
	cp "$W/resp" "$W/rev1"
	token h1 --aud "$URL/a/demo/sign" >"$W/tok"
	printf '{"serial": "%s", "reason": "superseded", "token": "%s"}' \
		"$(cat "$W/serial")" "$(cat "$W/tok")" >"$W/b"
	post "$URL/a/demo/revoke" "$W/b"
	grep -q "^200 " "$W/status"
	cmp "$W/rev1" "$W/resp"
	grep -q '"reason":"keyCompromise"' "$W/resp"
	[ "$(sqlite3 "$DB" "SELECT status FROM certificates WHERE serial='$(cat "$W/serial")'")" = revoked ]
}
step "revoke by a token covering the names, idempotent (first reason kept); another provisioner's API key refused" revoke

# ---------------------------------------------------------------- mTLS

# leaf NAME: an apikey leaf for NAME.example.test; $W/NAME.pem (with
# $W/NAME.key), its serial in $W/NAME.serial.
leaf() {
	csr "$1"
	body "$W/$1.csr" >"$W/b"
	post "$URL/a/demo/sign" "$W/b" -H "Authorization: Bearer $APIKEY"
	issued
	cp "$W/leaf.pem" "$W/$1.pem"
	cp "$W/serial" "$W/$1.serial"
}

# mtls PATH NAME BODYFILE: POST with $W/NAME.pem as the client certificate.
mtls() {
	post "$URL/a/demo/$1" "$3" --cert "$W/$2.pem" --key "$W/$2.key"
}

names() { openssl x509 -in "$1" -noout -subject -ext subjectAltName; }

status_of() {
	sqlite3 "$DB" "SELECT status FROM certificates WHERE serial='$1'"
}

renew_mtls() {
	leaf m1
	openssl x509 -in "$W/m1.pem" -noout -ext extendedKeyUsage |
		grep "TLS Web Client Authentication" >/dev/null
	echo '{}' >"$W/empty.json"
	mtls renew m1 "$W/empty.json"
	issued
	verifies
	[ "$(cat "$W/serial")" != "$(cat "$W/m1.serial")" ]
	[ "$(names "$W/leaf.pem")" = "$(names "$W/m1.pem")" ]
	# the same key: the renewed leaf works as the client certificate too
	cmp <(openssl x509 -in "$W/leaf.pem" -noout -pubkey) \
		<(openssl x509 -in "$W/m1.pem" -noout -pubkey)
	cp "$W/leaf.pem" "$W/m2.pem"
	cp "$W/m1.key" "$W/m2.key"
	mtls renew m2 "$W/empty.json"
	issued
	verifies
	[ "$(sqlite3 "$DB" "SELECT provisioner FROM certificates WHERE serial='$(cat "$W/serial")'")" = svc ]
}
step "renew: POST /renew with the current leaf as the TLS client certificate -> a new serial, the same names, verifies -x509_strict" renew_mtls

renew_refused() {
	post "$URL/a/demo/renew" "$W/empty.json"
	problem 401 auth "TLS client certificate"
	# another CA's certificate for the same names, and one forging a
	# demo leaf's serial
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-subj "/CN=Foreign CA" -days 2 -keyout "$W/fca.key" \
		-out "$W/fca.pem" 2>/dev/null
	printf 'extendedKeyUsage=clientAuth\nsubjectAltName=DNS:m1.example.test\n' >"$W/ext"
	openssl x509 -req -in "$W/m1.csr" -CA "$W/fca.pem" -CAkey "$W/fca.key" \
		-days 1 -extfile "$W/ext" -out "$W/f1.pem" 2>/dev/null
	cp "$W/m1.key" "$W/f1.key"
	mtls renew f1 "$W/empty.json"
	problem 401 auth "not issued by authority \"demo\""
	openssl x509 -req -in "$W/m1.csr" -CA "$W/fca.pem" -CAkey "$W/fca.key" \
		-set_serial "0x$(cat "$W/m1.serial")" -days 1 -extfile "$W/ext" \
		-out "$W/f2.pem" 2>/dev/null
	cp "$W/m1.key" "$W/f2.key"
	mtls renew f2 "$W/empty.json"
	problem 401 auth "not the one authority \"demo\" issued"
	# a leaf of authority "other" (another CA) at demo
	csr o2
	sc token other --provisioner ops --key "$W/prov.key" \
		--san o2.example.test --aud "$URL/a/other/sign" >"$W/tok"
	body "$W/o2.csr" "$(cat "$W/tok")" >"$W/b"
	post "$URL/a/other/sign" "$W/b"
	issued
	cp "$W/leaf.pem" "$W/o2.pem"
	mtls renew o2 "$W/empty.json"
	problem 401 auth "not issued by authority \"demo\""
	# expired: the server judges validity by the store's record of the
	# certificate (there is no clock to turn in a running server), so
	# its not_after is moved into the past
	leaf e1
	sqlite3 "$DB" "UPDATE certificates SET not_before=not_before-864000, not_after=strftime('%s','now')-60 WHERE serial='$(cat "$W/e1.serial")'"
	mtls renew e1 "$W/empty.json"
	problem 401 auth "is not valid now"
	# a CSR with other names is no renewal
	csr m3
	body "$W/m3.csr" >"$W/b"
	mtls renew m1 "$W/b"
	problem 403 policy "rule: same names"
}
step "renew refused: no client certificate, another CA's certificate, a forged serial, another authority's leaf, expired (401 auth); other names (403 policy)" renew_refused

revoke_mtls() {
	leaf v1
	leaf v2
	# the certificate itself revokes itself, not another one
	printf '{"serial": "%s"}' "$(cat "$W/v2.serial")" >"$W/b"
	mtls revoke v1 "$W/b"
	problem 401 auth "no credential"
	[ "$(status_of "$(cat "$W/v2.serial")")" = valid ]
	printf '{"serial": "%s", "reason": "keyCompromise"}' "$(cat "$W/v1.serial")" >"$W/b"
	mtls revoke v1 "$W/b"
	grep "^200 application/json" "$W/status" >/dev/null
	grep '"reason":"keyCompromise"' "$W/resp" >/dev/null
	[ "$(status_of "$(cat "$W/v1.serial")")" = revoked ]
	mtls renew v1 "$W/empty.json"
	problem 401 auth "is revoked"
}
step "revoke by mTLS with the certificate itself -> revoked in the store, then /renew with it is 401; another serial is not its to revoke" revoke_mtls

revoke_token() {
	leaf t1
	token z1 --aud "$URL/a/demo/sign" >"$W/tok"
	printf '{"serial": "%s", "token": "%s"}' "$(cat "$W/t1.serial")" \
		"$(cat "$W/tok")" >"$W/b"
	post "$URL/a/demo/revoke" "$W/b"
	problem 403 policy "does not cover"
	[ "$(status_of "$(cat "$W/t1.serial")")" = valid ]
	token t1 --aud "$URL/a/demo/sign" >"$W/tok"
	printf '{"serial": "%s", "token": "%s"}' "$(cat "$W/t1.serial")" \
		"$(cat "$W/tok")" >"$W/b"
	post "$URL/a/demo/revoke" "$W/b"
	grep "^200 " "$W/status" >/dev/null
	grep '"reason":"unspecified"' "$W/resp" >/dev/null
	[ "$(status_of "$(cat "$W/t1.serial")")" = revoked ]
}
step "revoke by token: sans covering the certificate -> 200; a token for other names -> 403 policy" revoke_token

# ---------------------------------------------------------------- load

make_csrs() {
	for i in $(seq 1 $NCLIENTS); do
		csr "c$i"
		body "$W/c$i.csr" >"$W/c$i.json"
	done
}
step "$NCLIENTS CSRs" make_csrs

# load DIR: $NCLIENTS background curls; each response in DIR/N.
load() {
	local d=$1 i
	mkdir -p "$d"
	for i in $(seq 1 $NCLIENTS); do
		curl -sS --cacert "$CA" -o "$d/$i" -w '%{http_code}' \
			-H "Authorization: Bearer $APIKEY" \
			-H 'Content-Type: application/json' \
			--data-binary "@$W/c$i.json" "$URL/a/demo/sign" \
			>"$d/$i.status" 2>/dev/null &
	done
}

# serials DIR: serials of every 201 response in DIR, one a line.
serials() {
	"$PY" - "$1" <<'EOF'
import json, os, sys
d = sys.argv[1]
for f in sorted(os.listdir(d)):
    if f.endswith(".status") or not os.path.exists(os.path.join(d, f + ".status")):
        continue
    if open(os.path.join(d, f + ".status")).read().strip() != "201":
        continue
    print(json.load(open(os.path.join(d, f)))["serial"])
EOF
}

in_store_once() {
	local s n
	while read -r s; do
		n=$(sqlite3 "$DB" "SELECT count(*) FROM certificates WHERE serial='$s'")
		[ "$n" = 1 ] || { log "serial $s in the store $n times"; return 1; }
	done <"$1"
}

concurrent() {
	load "$W/load1"
	wait
	serials "$W/load1" >"$W/serials1"
	[ "$(wc -l <"$W/serials1")" = $NCLIENTS ]
	[ "$(sort -u "$W/serials1" | wc -l)" = $NCLIENTS ]
	in_store_once "$W/serials1"
}
step "$NCLIENTS concurrent clients: every one issued, serials distinct, each in the store" concurrent

# Clients that close their connection while their certificate is being
# signed and committed (some cleanly, some with a reset), then two requests
# pipelined on one connection: the server keeps serving, and answers the
# pipelined ones in order.
early_close() {
	"$PY" - "$PORT" "$CA" "$APIKEY" "$W" $NCLIENTS <<'EOF'
import json, socket, ssl, struct, sys
from cryptography import x509
port, ca, key, w, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context(cafile=ca)

def req(i):
    body = open("%s/c%d.json" % (w, i), "rb").read()
    return (("POST /a/demo/sign HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
             "Authorization: Bearer %s\r\nContent-Type: application/json\r\n"
             "Content-Length: %d\r\n\r\n") % (port, key, len(body))).encode() + body

def conn():
    s = socket.create_connection(("127.0.0.1", port))
    return ctx.wrap_socket(s, server_hostname="127.0.0.1")

for i in range(1, n + 1):
    s = conn()
    s.sendall(req(i))
    if i % 2:
        # an abortive close: RST instead of FIN
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()

def read_response(f):
    status = f.readline().split()[1]
    length = 0
    while True:
        h = f.readline().strip()
        if not h:
            break
        k, v = h.split(b":", 1)
        if k.lower() == b"content-length":
            length = int(v)
    return int(status), json.loads(f.read(length))

s = conn()
s.sendall(req(1) + req(2))
f = s.makefile("rb")
for i in (1, 2):
    status, body = read_response(f)
    assert status == 201, (status, body)
    cert = x509.load_pem_x509_certificate(body["certificate"].encode())
    cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
    assert cn == "c%d.example.test" % i, (i, cn)
s.close()
EOF
	kill -0 "$(cat "$T/serve.log.pid")"
	curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "$URL/healthz" | grep 200 >/dev/null
	load "$W/load0"
	wait
	[ "$(serials "$W/load0" | wc -l)" = $NCLIENTS ]
}
step "clients closing before their answer (FIN and RST), then two pipelined requests answered in order; the server keeps serving" early_close

# SIGTERM while clients wait for their certificates: what the server
# received is answered (after its commit) or refused whole, never cut; every
# certificate answered is in the store; the server exits 0; it restarts.
term_during_load() {
	local i s n0
	n0=$(sqlite3 "$DB" 'SELECT count(*) FROM certificates')
	load "$W/load3"
	# once the first of them is recorded, the others are on their way
	for i in $(seq 1 100); do
		[ "$(sqlite3 "$DB" 'SELECT count(*) FROM certificates')" -gt "$n0" ] && break
		sleep 0.1
	done
	kill -TERM "$(cat "$T/serve.log.pid")"
	wait
	for i in $(seq 1 150); do [ -s "$T/serve.log.rc" ] && break; sleep 0.1; done
	[ "$(cat "$T/serve.log.rc")" = 0 ]
	for i in $(seq 1 $NCLIENTS); do
		s=$(cat "$W/load3/$i.status")
		[ "$s" = 201 ] || [ "$s" = 000 ] || { log "client $i: $s"; return 1; }
	done
	serials "$W/load3" >"$W/serials3"
	log "$(wc -l <"$W/serials3") of $NCLIENTS clients got a certificate before SIGTERM"
	[ -s "$W/serials3" ]
	in_store_once "$W/serials3"
	serve
}
step "SIGTERM during a load: answers already owed are given after their commit, the server exits 0 and restarts" term_during_load

crash() {
	local pid
	pid=$(cat "$T/serve.log.pid")
	load "$W/load2"
	sleep 0.3
	kill -9 "$pid"
	wait
	serve
	serials "$W/load2" >"$W/serials2"
	log "$(wc -l <"$W/serials2") of $NCLIENTS clients got a certificate before kill -9"
	in_store_once "$W/serials2"
	[ "$(sqlite3 "$DB" 'PRAGMA integrity_check')" = ok ]
	[ "$(sqlite3 "$DB" 'SELECT count(*) FROM (SELECT serial FROM certificates GROUP BY serial HAVING count(*) > 1)')" = 0 ]
	curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' "$URL/healthz" | grep 200 >/dev/null
}
step "kill -9 during a second load, restart: every certificate a client received is in the store once; integrity_check ok" crash

stop() {
	local i
	kill -TERM "$(cat "$T/serve.log.pid")"
	for i in $(seq 1 150); do [ -s "$T/serve.log.rc" ] && break; sleep 0.1; done
	[ "$(cat "$T/serve.log.rc")" = 0 ]
}
step "SIGTERM stops the restarted server cleanly" stop

finish
