#!/bin/bash
# The ACME protocol itself, with a small client (tools/acme_probe.py): bad
# JWS envelopes (wrong signature, wrong url, unknown kid, replayed or
# made-up nonce, unsupported algorithms, oversized payload), refused
# identifiers with subproblems, a wrongly answered challenge (no
# certificate), finalize with other names (badCSR), the chain, orders
# list, renewalInfo, revocation rights, keyChange, deactivation, and a
# nonce that does not survive a restart.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"
PORT=$(free_port)
HTTP=$(free_port)
CA=$T/tls-root.pem
DIR=https://127.0.0.1:$PORT/a/demo/acme/acme/directory
PROBE=$(dirname "$SUBCA_TEST_LIB")/tools/acme_probe.py

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root
	sc authority create demo --generate-root
	sc provisioner add demo acme --type acme --allow-dns .example.test
}
step "an authority and an acme provisioner" setup

serve() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 2 \
		--tls-authority server-tls --tls-root-out "$CA" \
		--acme-http-port "$HTTP" --acme-connect-host 127.0.0.1
}
step "serve starts" serve

probe() { python3 "$PROBE" "$1" "$DIR" "$CA" "${@:2}"; }

count() { sqlite3 "$SUBCA_DATA/subca.db" "SELECT count(*) FROM certificates WHERE authority_id = (SELECT id FROM authorities WHERE name = 'demo')"; }

step "accounts: create, find, onlyReturnExisting, contacts, ES256/ES384/RS256/EdDSA" probe accounts

jws() {
	before=$(count)
	probe jws
	[ "$(count)" = "$before" ]
}
step "bad JWS and bad orders: the right problems, nothing issued" jws

flow() {
	probe flow "$HTTP" "$W/chain.pem"
	curl -sf --cacert "$CA" "https://127.0.0.1:$PORT/a/demo/roots" >"$W/root.pem"
	split_chain "$W/chain.pem" "$W/leaf.pem" "$W/int.pem"
	verify_chain "$W/root.pem" "$W/int.pem" "$W/leaf.pem"
	[ "$(count)" = 1 ]
}
step "wrong answer: no certificate; badCSR; issue, list, renewalInfo, revoke" flow

step "keyChange, then deactivation" probe keychange

nonce_save() { probe nonce-save "$W/nonce" "$W/kid" "$W/key.pem"; }
step "a nonce and an account before a restart" nonce_save

restart() {
	stop_server "$T/serve.log"
	serve
}
step "the server restarts" restart

step "the old nonce is refused with badNonce, a fresh one works" \
	probe nonce-after-restart "$W/nonce" "$W/kid" "$W/key.pem"

stop() {
	stop_server "$T/serve.log"
}
step "SIGTERM stops the server cleanly" stop

finish
