#!/bin/bash
# uacme (Debian's package) with an http-01 hook script against `subca
# serve`: account, issue, forced renewal, revocation; the stored chain
# verifies against the customer's root. uacme has no option for a CA
# bundle and reads the system's, so it runs in a private mount namespace
# where the system bundle is the server's TLS root (needs root).
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W/web/.well-known/acme-challenge"
cd "$W"
PORT=$(free_port)
HTTP=$(free_port)
CA=$T/tls-root.pem
DIR=https://127.0.0.1:$PORT/a/demo/acme/acme/directory
BUNDLE=/etc/ssl/certs/ca-certificates.crt

if [ "$(id -u)" != 0 ] || ! unshare -m true 2>/dev/null; then
	log "skipped: uacme needs a private mount namespace (root) here"
	finish
fi

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root
	sc authority create demo --generate-root
	sc provisioner add demo acme --type acme --allow-dns .example.test
	cat >"$W/hook.sh" <<'HOOK'
#!/bin/sh
# uacme hook: METHOD TYPE IDENT TOKEN AUTH; http-01 only
[ "$2" = http-01 ] || exit 1
f="$WEBROOT/.well-known/acme-challenge/$4"
case "$1" in
begin) printf '%s' "$5" >"$f" ;;
done|failed) rm -f "$f" ;;
esac
HOOK
	chmod +x "$W/hook.sh"
}
step "an authority, an acme provisioner and the hook script" setup

serve() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 2 \
		--tls-authority server-tls --tls-root-out "$CA" \
		--acme-http-port "$HTTP" --acme-connect-host 127.0.0.1
	(cd "$W/web" && exec python3 -m http.server "$HTTP" --bind 127.0.0.1 \
		>/dev/null 2>&1) &
	echo $! >>"$T/pids"
	for _ in $(seq 1 50); do
		curl -s -o /dev/null "http://127.0.0.1:$HTTP/" && return 0
		sleep 0.1
	done
	return 1
}
step "serve and a web server for the challenge files start" serve

# uc ARGS...: uacme with the server's root as the system bundle
uc() {
	WEBROOT=$W/web unshare -m sh -c \
		'mount --bind "$0" "$1" && shift && exec uacme "$@"' \
		"$CA" "$BUNDLE" -a "$DIR" -c "$W/uacme" -h "$W/hook.sh" "$@" \
		>"$W/uacme.out" 2>&1 || { cat "$W/uacme.out" >&2; return 1; }
}

roots() { curl -sf --cacert "$CA" "https://127.0.0.1:$PORT/a/demo/roots" >"$W/root.pem"; }
step "the customer's root" roots

stored() {
	split_chain "$W/uacme/u.example.test/cert.pem" "$W/leaf.pem" "$W/int.pem"
	verify_chain "$W/root.pem" "$W/int.pem" "$W/leaf.pem"
}

issue() {
	uc -y new
	uc issue u.example.test www.u.example.test
	stored
	cert_text "$W/leaf.pem" >"$W/leaf.txt"
	has "$W/leaf.txt" "DNS:www.u.example.test"
}
step "uacme registers and obtains a certificate (http-01 hook)" issue

renew() {
	openssl x509 -in "$W/leaf.pem" -noout -serial >"$W/s1"
	uc -f issue u.example.test www.u.example.test
	stored
	openssl x509 -in "$W/leaf.pem" -noout -serial >"$W/s2"
	! cmp -s "$W/s1" "$W/s2"
}
step "uacme renews it (forced; a new serial)" renew

revoke() {
	serial=$(sed 's/serial=//' "$W/s2" | tr 'A-F' 'a-f' | sed 's/^0*//')
	uc revoke "$W/uacme/u.example.test/cert.pem"
	sqlite3 "$SUBCA_DATA/subca.db" \
		"SELECT status FROM certificates WHERE serial = '$serial'" >"$W/st"
	has "$W/st" "revoked"
}
step "uacme revokes it" revoke

finish
