#!/bin/bash
# certbot (Debian's package) against `subca serve`'s ACME directory: an
# account, a certificate for two names through standalone http-01 on a
# chosen port (the server validates at 127.0.0.1 with --acme-connect-host),
# by path (/a/NAME/acme/P/directory) and by host (SUB.BASE/acme/P/...),
# renewal, revocation; what certbot stores verifies against the root.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"
PORT=$(free_port)
HTTP=$(free_port)
CA=$T/tls-root.pem
DIR=https://127.0.0.1:$PORT/a/demo/acme/acme/directory

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root
	sc authority create demo --subdomain dm --generate-root
	sc provisioner add demo acme --type acme --challenges http-01 \
		--allow-dns .example.test --max-days 30
}
step "an authority and an acme provisioner (http-01 only)" setup

serve() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 2 \
		--tls-authority server-tls --tls-root-out "$CA" \
		--base-domain example.test --acme-http-port "$HTTP" \
		--acme-connect-host 127.0.0.1
}
step "serve starts" serve

directory() {
	curl -sf --cacert "$CA" "$DIR" >"$W/dir.json"
	has "$W/dir.json" "\"newOrder\":\"https://127.0.0.1:$PORT/a/demo/acme/acme/new-order\""
	curl -sf --cacert "$CA" --resolve "dm.example.test:$PORT:127.0.0.1" \
		"https://dm.example.test:$PORT/acme/acme/directory" >"$W/dir2.json"
	has "$W/dir2.json" "\"newNonce\":\"https://dm.example.test:$PORT/acme/acme/new-nonce\""
	curl -sf --cacert "$CA" -o /dev/null -D "$W/nonce.h" -I \
		"https://127.0.0.1:$PORT/a/demo/acme/acme/new-nonce"
	grep -i '^replay-nonce: ' "$W/nonce.h" >/dev/null
}
step "the directory by path and by host, and a nonce by HEAD" directory

cb() {
	REQUESTS_CA_BUNDLE=$CA timeout 180 certbot "$@" --config-dir "$W/cb" \
		--work-dir "$W/cbw" --logs-dir "$W/cbl" --non-interactive \
		>"$W/certbot.out" 2>&1 || { cat "$W/certbot.out" >&2; return 1; }
}

roots() { curl -sf --cacert "$CA" "https://127.0.0.1:$PORT/a/demo/roots" >"$W/root.pem"; }
step "the customer's root" roots

live=$W/cb/live/www.example.test
obtain() {
	cb certonly --standalone --http-01-port "$HTTP" \
		--http-01-address 127.0.0.1 --server "$DIR" \
		--register-unsafely-without-email --agree-tos \
		-d www.example.test -d api.example.test
	verify_chain "$W/root.pem" "$live/chain.pem" "$live/cert.pem"
	cert_text "$live/cert.pem" >"$W/cert.txt"
	has "$W/cert.txt" "DNS:www.example.test"
	has "$W/cert.txt" "DNS:api.example.test"
}
step "certbot obtains a certificate for two names (http-01)" obtain

renew() {
	openssl x509 -in "$live/cert.pem" -noout -serial >"$W/serial.1"
	cb renew --force-renewal --no-random-sleep-on-renew
	openssl x509 -in "$live/cert.pem" -noout -serial >"$W/serial.2"
	! cmp -s "$W/serial.1" "$W/serial.2"
	verify_chain "$W/root.pem" "$live/chain.pem" "$live/cert.pem"
}
step "certbot renews it (a new serial, verifies)" renew

by_host() {
	REQUESTS_CA_BUNDLE=$CA timeout 60 python3 - "$PORT" "$CA" <<'PY'
import json, ssl, sys, urllib.request, http.client
port, ca = sys.argv[1], sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
c.request("GET", "/acme/acme/directory", headers={"Host": f"dm.example.test:{port}"})
r = c.getresponse()
assert r.status == 200, r.status
d = json.loads(r.read())
assert d["newAccount"] == f"https://dm.example.test:{port}/acme/acme/new-account", d
PY
}
step "host routing answers the same directory under its own URLs" by_host

revoke() {
	serial=$(sed 's/serial=//' "$W/serial.2" | tr 'A-F' 'a-f' | sed 's/^0*//')
	cb revoke --cert-name www.example.test --no-delete-after-revoke \
		--reason keycompromise
	sqlite3 "$SUBCA_DATA/subca.db" \
		"SELECT status, reason FROM certificates WHERE serial = '$serial'" >"$W/st"
	has "$W/st" "revoked|1"
}
step "certbot revokes it (keyCompromise, recorded)" revoke

outside() {
	! cb certonly --standalone --http-01-port "$HTTP" \
		--http-01-address 127.0.0.1 --server "$DIR" \
		-d www.other.test --cert-name other
	# Debian's certbot 2.1 crashes while showing some problems (josepy's
	# immutable error); its log keeps the server's answer
	cat "$W/certbot.out" "$W"/cbl/letsencrypt.log* >"$W/all.log"
	has "$W/all.log" "urn:ietf:params:acme:error:rejectedIdentifier"
	has "$W/all.log" "DNS:www.other.test is not allowed by the policy"
}
step "a name outside the policy is refused (rejectedIdentifier)" outside

stop() {
	stop_server "$T/serve.log"
}
step "SIGTERM stops the server cleanly" stop

finish
