#!/bin/bash
# One ACME account under concurrency (tools/acme_orders.py): 16 orders at
# once, each to its own valid certificate naming exactly its identifiers,
# all listed in the account's orders (two pages of 10, following Link
# rel="next"), no 5xx;
# and several finalize calls at once on one ready order: exactly one
# certificate, the other calls orderNotReady, the store's certificate count
# (`subca authority show --json`) up by one per order.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"
PORT=$(free_port)
HTTP=$(free_port)
CA=$T/tls-root.pem
DIR=https://127.0.0.1:$PORT/a/demo/acme/acme/directory
ORDERS=$TOOLS/acme_orders.py

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

orders() { "$PY" "$ORDERS" "$1" "$DIR" "$CA" "${@:2}"; }
certs() { sc authority show demo --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["issued_certificates"])'; }

parallel() {
	before=$(certs)
	pages=$(orders parallel "$HTTP" 16 "$W")
	[ "$pages" = 2 ] || { log "16 orders in $pages pages of the list, want 2 (10 a page)"; return 1; }
	[ "$(certs)" = $((before + 16)) ]
	curl -sf --cacert "$CA" "https://127.0.0.1:$PORT/a/demo/roots" >"$W/root.pem"
	for i in $(seq 0 15); do
		split_chain "$W/par-$i.pem" "$W/leaf.pem" "$W/int.pem"
		openssl verify -CAfile "$W/root.pem" -untrusted "$W/int.pem" \
			"$W/leaf.pem" >/dev/null
	done
}
step "16 orders of one account at once: 16 distinct certificates, all listed over 2 pages, no 5xx" parallel

race() {
	before=$(certs)
	issued=$(orders race "$HTTP" 4 6)
	[ "$issued" = 4 ]
	[ "$(certs)" = $((before + 4)) ]
}
step "6 finalize calls at once on each of 4 orders: one certificate each, the rest orderNotReady" race

stop() {
	stop_server "$T/serve.log"
}
step "SIGTERM stops the server cleanly" stop

finish
