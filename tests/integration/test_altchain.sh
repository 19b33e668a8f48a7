#!/bin/bash
# Re-certified intermediates and ACME alternate chains (RFC 8555 7.4.2):
# the customer's root signs the same intermediate CSR twice with openssl
# (the second with a later notAfter); both are imported, the second as a
# re-certification of the key in use; `intermediate list` shows both; the
# same certificate twice is refused; an ACME leaf downloads with the newest
# chain by default and a Link rel="alternate" to the older one, and both
# chains verify to the root (openssl verify -x509_strict, certtool); a
# third certificate through the admin API makes two alternates.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"
DB=$SUBCA_DATA/subca.db
PORT=$(free_port)
HTTP=$(free_port)
CA=$T/tls-root.pem
DIR=https://127.0.0.1:$PORT/a/demo/acme/acme/directory
PROBE=$(dirname "$SUBCA_TEST_LIB")/tools/acme_probe.py

fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f; }

# sign_int DAYS OUT: the pending CSR signed by the root with openssl x509
sign_int() {
	openssl x509 -req -in "$W/int.csr" -CA "$W/root/root.crt" \
		-CAkey "$W/root/root.key" -days "$1" -sha256 \
		-set_serial "0x$(openssl rand -hex 16)" \
		-extfile "$W/int.cnf" -extensions v3_int -out "$2" 2>/dev/null
}

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root
	gen_root openssl ec-p256 "$W/root" "Altchain Test Root"
	cat >"$W/int.cnf" <<'EOF'
[v3_int]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	sc authority create demo
	sc root import demo "$W/root/root.crt"
	sc intermediate request demo --cn "Demo Issuing CA" --out "$W/int.csr" 2>/dev/null
	sign_int 30 "$W/int1.crt"
	sign_int 60 "$W/int2.crt"
	sc provisioner add demo acme --type acme --allow-dns .example.test
	sc admin token create --description altchain >"$W/admin.tok" 2>/dev/null
}
step "a root, one intermediate CSR signed twice (30 and 60 days), an acme provisioner" setup

import_both() {
	sc intermediate import demo "$W/int1.crt" 2>/dev/null
	sc intermediate import demo "$W/int2.crt" 2>"$W/import2.err"
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM intermediates WHERE authority_id = (SELECT id FROM authorities WHERE name = 'demo')")" = 1 ]
	[ "$(sqlite3 "$DB" "SELECT fingerprint FROM intermediates WHERE state = 'active' AND subject LIKE '%Demo Issuing CA%'")" = "$(fp "$W/int2.crt")" ]
	sqlite3 "$DB" "SELECT action, detail FROM audit_log" >"$W/audit.txt"
	has "$W/audit.txt" "intermediate.recertify"
	has "$W/audit.txt" "re-certified: certificate sha256 $(fp "$W/int2.crt")"
}
step "the second certificate of the same key is a re-certification: it becomes the chain" import_both

listed() {
	sc intermediate list demo >"$W/list.out" 2>/dev/null
	has "$W/list.out" "sha256 $(fp "$W/int2.crt")"
	has "$W/list.out" "also certified: sha256 $(fp "$W/int1.crt")"
	sc intermediate list demo --json >"$W/list.json" 2>/dev/null
	[ "$(jq -r '.[0].additional_certificates[0].sha256' "$W/list.json")" = "$(fp "$W/int1.crt")" ]
	[ "$(jq -r '.[0].additional_certificates | length' "$W/list.json")" = 1 ]
}
step "intermediate list shows the other certificate of the key (text and --json)" listed

step "the same certificate again is refused" \
	expect_fail EXISTS 6 "is already recorded for intermediate" -- \
	sc intermediate import demo "$W/int2.crt"
step "the replaced certificate again is refused too" \
	expect_fail EXISTS 6 "is already recorded for intermediate" -- \
	sc intermediate import demo "$W/int1.crt"

serve() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 2 \
		--tls-authority server-tls --tls-root-out "$CA" \
		--acme-http-port "$HTTP" --acme-connect-host 127.0.0.1
}
step "serve starts" serve

chain_endpoint() {
	curl -sf --cacert "$CA" "https://127.0.0.1:$PORT/a/demo/chain" >"$W/chain.pem"
	[ "$(fp "$W/chain.pem")" = "$(fp "$W/int2.crt")" ]
}
step "GET /chain answers the newest certificate" chain_endpoint

alternates() {
	python3 "$PROBE" alternates "$DIR" "$CA" "$HTTP" "$W/acme" 1
	[ -s "$W/acme.0.pem" ] && [ -s "$W/acme.1.pem" ] && [ ! -e "$W/acme.2.pem" ]
	split_chain "$W/acme.0.pem" "$W/leaf0.pem" "$W/int0.pem"
	split_chain "$W/acme.1.pem" "$W/leaf1.pem" "$W/intalt.pem"
	cmp "$W/leaf0.pem" "$W/leaf1.pem"
	[ "$(fp "$W/int0.pem")" = "$(fp "$W/int2.crt")" ]
	[ "$(fp "$W/intalt.pem")" = "$(fp "$W/int1.crt")" ]
	verify_chain "$W/root/root.crt" "$W/int0.pem" "$W/leaf0.pem"
	verify_chain "$W/root/root.crt" "$W/intalt.pem" "$W/leaf1.pem"
}
step "ACME: the default chain is the newest, one Link rel=alternate to the older; both verify to the root" alternates

# remote CMD...: subca against the server's admin API.
remote() {
	SUBCA_DATA=$T/nowhere SUBCA_SERVER=https://127.0.0.1:$PORT \
	SUBCA_TOKEN=$(cat "$W/admin.tok") SUBCA_CACERT=$CA sc "$@"
}

remote_import() {
	sign_int 45 "$W/int3.crt"
	remote intermediate import demo "$W/int3.crt" 2>/dev/null
	remote intermediate list demo --json >"$W/remote.json" 2>/dev/null
	[ "$(jq -r '.[0].sha256' "$W/remote.json")" = "$(fp "$W/int3.crt")" ]
	[ "$(jq -r '[.[0].additional_certificates[].sha256] | sort | join(",")' "$W/remote.json")" = \
		"$(printf '%s\n' "$(fp "$W/int1.crt")" "$(fp "$W/int2.crt")" | sort | paste -sd,)" ]
	python3 "$PROBE" alternates "$DIR" "$CA" "$HTTP" "$W/acme3" 2
	split_chain "$W/acme3.0.pem" "$W/leaf3.pem" "$W/int3chain.pem"
	[ "$(fp "$W/int3chain.pem")" = "$(fp "$W/int3.crt")" ]
	for i in 1 2; do
		split_chain "$W/acme3.$i.pem" "$W/leaf3.$i.pem" "$W/int3alt.$i.pem"
		verify_chain "$W/root/root.crt" "$W/int3alt.$i.pem" "$W/leaf3.$i.pem"
	done
}
step "admin API: a third certificate of the key; two alternates now, each verifies" remote_import
step "admin API: the same certificate again is refused" \
	expect_fail EXISTS 6 "is already recorded for intermediate" -- \
	remote intermediate import demo "$W/int3.crt"

stop() {
	stop_server "$T/serve.log"
}
step "SIGTERM stops the server cleanly" stop

finish
