#!/bin/bash
# lego (Debian's package) against `subca serve`'s ACME directory: http-01
# and tls-alpn-01 on chosen ports, dns-01 (with a wildcard) through a small
# DNS server the test starts (tools/acme_dns.py, also lego's exec
# provider), renewal,
# authorization deactivation, revocation, and External Account Binding
# (a directory that requires it refuses lego without, takes it with the
# key from `subca acme eab create`, and refuses the key a second time).
# Everything lego stores verifies against the customer's root.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"
PORT=$(free_port)
HTTP=$(free_port)
TLS=$(free_port)
DNS=$(free_port)
CA=$T/tls-root.pem
DNSPY=$(dirname "$SUBCA_TEST_LIB")/tools/acme_dns.py
BASE=https://127.0.0.1:$PORT/a/demo/acme
export LEGO_CA_CERTIFICATES=$CA

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root
	sc authority create demo --generate-root
	sc provisioner add demo acme --type acme --allow-dns .example.test \
		--allow-ip 127.0.0.0/8
	sc provisioner add demo eab --type acme --require-eab \
		--challenges http-01 --allow-dns .example.test
	sc acme eab create demo eab >"$W/eab.txt"
	grep -E '^kid: [0-9a-f]{36}$' "$W/eab.txt" >/dev/null
	grep -E '^hmac: [A-Za-z0-9_-]{43}$' "$W/eab.txt" >/dev/null
	sqlite3 "$SUBCA_DATA/subca.db" "SELECT sealed FROM acme_eab_keys" >"$W/sealed"
	lacks "$W/sealed" "$(sed -n 's/^hmac: //p' "$W/eab.txt")"
}
step "acme provisioners (one requiring EAB) and an EAB key, stored sealed" setup
KID=$(sed -n 's/^kid: //p' "$W/eab.txt" 2>/dev/null || true)
HMAC=$(sed -n 's/^hmac: //p' "$W/eab.txt" 2>/dev/null || true)

serve() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 2 \
		--tls-authority server-tls --tls-root-out "$CA" \
		--acme-http-port "$HTTP" --acme-tls-alpn-port "$TLS" \
		--acme-resolver "127.0.0.1:$DNS" --acme-connect-host 127.0.0.1
	mkdir -p "$W/zone"
	python3 "$DNSPY" serve --dir "$W/zone" --port "$DNS" \
		--pidfile "$W/dns.pid" >"$W/dns.log" 2>&1 &
	for _ in $(seq 1 50); do
		grep "listening on" "$W/dns.log" >/dev/null && break
		sleep 0.1
	done
	cat "$W/dns.pid" >>"$T/pids"
}
step "serve and a test DNS server start" serve

roots() { curl -sf --cacert "$CA" "https://127.0.0.1:$PORT/a/demo/roots" >"$W/root.pem"; }
step "the customer's root" roots

# lg PROVISIONER ARGS...: lego with its state in $W/lego
lg() {
	local p=$1
	shift
	timeout 120 lego --accept-tos --email ops@example.test \
		--server "$BASE/$p/directory" --path "$W/lego" "$@" \
		>"$W/lego.out" 2>&1 || { cat "$W/lego.out" >&2; return 1; }
}

# stored NAME: lego's certificate verifies against the root
stored() {
	local c=$W/lego/certificates/$1
	verify_chain "$W/root.pem" "$c.issuer.crt" "$c.crt"
}

http01() {
	lg acme --domains web.example.test --domains www.example.test \
		--http --http.port "127.0.0.1:$HTTP" run
	stored web.example.test
}
step "lego obtains a certificate with http-01" http01

tlsalpn() {
	lg acme --domains alpn.example.test --tls --tls.port "127.0.0.1:$TLS" run
	stored alpn.example.test
}
step "lego obtains a certificate with tls-alpn-01" tlsalpn

dns01() {
	ACME_DNS_DIR=$W/zone EXEC_PATH=$DNSPY lg acme --domains dns.example.test \
		--domains '*.dns.example.test' --dns exec \
		--dns.resolvers "127.0.0.1:$DNS" --dns.disable-cp run
	stored dns.example.test
	cert_text "$W/lego/certificates/dns.example.test.crt" >"$W/dns.txt"
	has "$W/dns.txt" "DNS:*.dns.example.test"
}
step "lego obtains a wildcard certificate with dns-01" dns01

renew() {
	openssl x509 -in "$W/lego/certificates/web.example.test.crt" -noout \
		-serial >"$W/s1"
	lg acme --domains web.example.test --domains www.example.test \
		--http --http.port "127.0.0.1:$HTTP" renew --days 400 \
		--no-random-sleep --always-deactivate-authorizations true
	openssl x509 -in "$W/lego/certificates/web.example.test.crt" -noout \
		-serial >"$W/s2"
	! cmp -s "$W/s1" "$W/s2"
	stored web.example.test
	n=$(sqlite3 "$SUBCA_DATA/subca.db" \
		"SELECT count(*) FROM acme_authzs WHERE status = 'deactivated'")
	[ "$n" -ge 2 ]
}
step "lego renews (new serial) and deactivates its authorizations" renew

revoke() {
	serial=$(sed 's/serial=//' "$W/s2" | tr 'A-F' 'a-f' | sed 's/^0*//')
	lg acme --domains web.example.test revoke
	sqlite3 "$SUBCA_DATA/subca.db" \
		"SELECT status FROM certificates WHERE serial = '$serial'" >"$W/st"
	has "$W/st" "revoked"
}
step "lego revokes it" revoke

eab_required() {
	! lg eab --domains e.example.test --http --http.port "127.0.0.1:$HTTP" run
	has "$W/lego.out" "External Account Binding"
}
step "without EAB the EAB directory refuses the account" eab_required

eab() {
	rm -rf "$W/lego/accounts"
	lg eab --eab --kid "$KID" --hmac "$HMAC" --domains e.example.test \
		--http --http.port "127.0.0.1:$HTTP" run
	stored e.example.test
}
step "with the EAB key lego registers and obtains a certificate" eab

eab_reuse() {
	! timeout 60 lego --accept-tos --email other@example.test \
		--server "$BASE/eab/directory" --path "$W/lego2" --eab \
		--kid "$KID" --hmac "$HMAC" --domains f.example.test --http \
		--http.port "127.0.0.1:$HTTP" run >"$W/lego2.out" 2>&1
	has "$W/lego2.out" "already bound"
}
step "the EAB key binds one account only" eab_reuse

eab_wrong() {
	! timeout 60 lego --accept-tos --email third@example.test \
		--server "$BASE/eab/directory" --path "$W/lego3" --eab \
		--kid "$KID" --hmac "AAAA${HMAC#????}" --domains f.example.test \
		--http --http.port "127.0.0.1:$HTTP" run >"$W/lego3.out" 2>&1
	grep -E "MAC does not verify|already bound" "$W/lego3.out" >/dev/null
}
step "a wrong HMAC key is refused" eab_wrong

stop() {
	stop_server "$T/serve.log"
}
step "SIGTERM stops the server cleanly" stop

finish
