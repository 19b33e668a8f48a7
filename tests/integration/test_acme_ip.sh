#!/bin/bash
# ACME identifiers end to end (tools/acme_orders.py): IP identifiers (RFC
# 8738) validated by http-01 and tls-alpn-01 against the address itself,
# the tls-alpn-01 SNI being the reverse-DNS name, each certificate carrying
# an iPAddress SAN and verifying to the customer's root; malformed IPs,
# an IP without http-01/tls-alpn-01 and a wildcard without dns-01 refused;
# identifiers outside the provisioner's policy or the intermediate's name
# constraints refused at newOrder with one rejectedIdentifier subproblem
# each, and no order made.
. "$SUBCA_TEST_LIB"

W=$T/w
R=$T/root
mkdir -p "$W"
cd "$W"
PORT=$(free_port)
HTTP=$(free_port)
TLS=$(free_port)
CA=$T/tls-root.pem
BASE=https://127.0.0.1:$PORT/a/demo/acme
ORDERS=$TOOLS/acme_orders.py

# The customer's root signs an intermediate limited to example.test (but
# not bad.example.test), 127.0.0.0/8 (but not 127.0.0.66) and ::1.
setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root
	gen_root python ec-p256 "$R" "ACME IP Test Root"
	sc authority create demo
	sc root import demo "$R/root.crt"
	sc intermediate request demo --cn "demo intermediate" --key ec-p256 \
		--path-len 0 --permit-dns example.test \
		--exclude-dns bad.example.test --permit-ip 127.0.0.0/8 \
		--permit-ip ::1/128 --exclude-ip 127.0.0.66/32 --out "$W/int.csr"
	"$PY" "$TOOLS/sign_intermediate.py" --root-cert "$R/root.crt" \
		--root-key "$R/root.key" --csr "$W/int.csr" --path-len 0 \
		--days 365 --out "$W/int.crt"
	sc intermediate import demo "$W/int.crt"
	cert_text "$W/int.crt" >"$W/int.txt"
	has "$W/int.txt" "Excluded:"
	sc provisioner add demo acme --type acme --allow-dns .example.test \
		--allow-ip 127.0.0.0/8 --allow-ip ::1/128
	sc provisioner add demo dnsonly --type acme --challenges dns-01 \
		--allow-any-name
	sc provisioner add demo httponly --type acme \
		--challenges http-01,tls-alpn-01 --allow-dns .example.test
}
step "a customer root, a name-constrained intermediate, acme provisioners" setup

# No --acme-connect-host: validation connects to the IP address itself.
serve() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 2 \
		--tls-authority server-tls --tls-root-out "$CA" \
		--acme-http-port "$HTTP" --acme-tls-alpn-port "$TLS"
}
step "serve starts" serve

orders() { "$PY" "$ORDERS" "$1" "$BASE/${ACME_PROV:-acme}/directory" "$CA" "${@:2}"; }
certs() { sqlite3 "$SUBCA_DATA/subca.db" "SELECT count(*) FROM certificates WHERE authority_id = (SELECT id FROM authorities WHERE name = 'demo')"; }
order_rows() { sqlite3 "$SUBCA_DATA/subca.db" "SELECT count(*) FROM acme_orders"; }

# Each leaf: only iPAddress SANs (its own address), chains to the root.
check_ip_leaf() {
	local f=$1 ip=$2
	split_chain "$f" "$W/leaf.pem" "$W/chain-int.pem"
	openssl x509 -in "$W/leaf.pem" -noout -ext subjectAltName >"$W/san.txt"
	has "$W/san.txt" "IP Address:$3"
	lacks "$W/san.txt" "DNS:"
	verify_chain "$R/root.crt" "$W/chain-int.pem" "$W/leaf.pem"
}

ip_flow() {
	before=$(certs)
	orders ip "$HTTP" "$TLS" "$W" >"$W/ips"
	n=0
	for ip in $(cat "$W/ips"); do
		shown=$ip
		[ "$ip" != ::1 ] || shown=0:0:0:0:0:0:0:1
		for kind in http-01 tls-alpn-01; do
			check_ip_leaf "$W/ip-${ip//:/_}-$kind.pem" "$ip" "$shown"
			n=$((n + 1))
		done
	done
	grep -qx "127.0.0.1 ::1" "$W/ips" || log "no IPv6 loopback here: ::1 skipped"
	[ "$(certs)" = $((before + n)) ]
}
step "127.0.0.1 (and ::1) by http-01 and tls-alpn-01: iPAddress SANs, chains verify" ip_flow

refused() {
	before=$(certs)
	orders refused "$BASE/dnsonly/directory" "$BASE/httponly/directory"
	[ "$(certs)" = "$before" ]
}
step "malformed IPs are malformed; IP without http-01/tls-alpn-01 and wildcard without dns-01 rejected" refused

constraints() {
	before=$(order_rows)
	orders constraints
	[ "$(order_rows)" = "$before" ]
}
step "policy and name constraints refuse at newOrder: one subproblem each, no order" constraints

stop() {
	stop_server "$T/serve.log"
}
step "SIGTERM stops the server cleanly" stop

finish
