#!/bin/bash
# Caddy (Debian's package) with acme_ca and acme_ca_root pointing at `subca
# serve`: it obtains a certificate for its site on its own (http-01 or
# tls-alpn-01 on the test's ports) and serves it over TLS; curl verifies
# the served chain against the customer's root, and what Caddy stores
# verifies with openssl. Caddy has no command to force a renewal or to
# revoke: its own maintenance loop renews once the renewal window (a JSON
# automation-policy setting) is reached, which the renew step sets a few
# seconds ahead; a second Caddy with fresh storage obtains a new
# certificate.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"
PORT=$(free_port)
HTTP=$(free_port)
TLS=$(free_port)
CA=$T/tls-root.pem

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
		--acme-http-port "$HTTP" --acme-tls-alpn-port "$TLS" \
		--acme-connect-host 127.0.0.1
	curl -sf --cacert "$CA" "https://127.0.0.1:$PORT/a/demo/roots" >"$W/root.pem"
}
step "serve starts" serve

# caddy_config STORAGE: the Caddyfile for the test's site
caddy_config() {
	cat >"$W/Caddyfile" <<CADDY
{
	admin off
	skip_install_trust
	acme_ca https://127.0.0.1:$PORT/a/demo/acme/acme/directory
	acme_ca_root $CA
	http_port $HTTP
	https_port $TLS
	storage file_system $1
	email ops@example.test
}
site.example.test {
	bind 127.0.0.1
	respond "hello from caddy"
}
CADDY
}

# served: the serial of the certificate Caddy serves now
served() {
	openssl s_client -connect "127.0.0.1:$TLS" \
		-servername site.example.test </dev/null 2>/dev/null |
		openssl x509 -noout -serial
}

# caddy_run STORAGE [CONFIG]: Caddy in the background until it serves the
# site; CONFIG is a JSON config (default: the Caddyfile for STORAGE)
caddy_run() {
	local cfg=(--config "$W/Caddyfile" --adapter caddyfile)

	caddy_config "$1"
	[ -n "${2:-}" ] && cfg=(--config "$2")
	(HOME=$W XDG_DATA_HOME=$W/xdg XDG_CONFIG_HOME=$W/xdg \
		exec caddy run "${cfg[@]}" >"$W/caddy.log" 2>&1) &
	echo $! >"$W/caddy.pid"
	cat "$W/caddy.pid" >>"$T/pids"
	for _ in $(seq 1 150); do
		if curl -sf --resolve "site.example.test:$TLS:127.0.0.1" \
			--cacert "$W/root.pem" "https://site.example.test:$TLS/" \
			>"$W/page" 2>/dev/null; then
			has "$W/page" "hello from caddy"
			return 0
		fi
		sleep 0.2
	done
	tail -n 5 "$W/caddy.log" >&2
	return 1
}

caddy_stop() {
	kill "$(cat "$W/caddy.pid")"
	wait "$(cat "$W/caddy.pid")" 2>/dev/null || true
}

stored() {
	crt=$(find "$1/certificates" -name site.example.test.crt)
	split_chain "$crt" "$W/leaf.pem" "$W/int.pem"
	verify_chain "$W/root.pem" "$W/int.pem" "$W/leaf.pem"
	openssl x509 -in "$W/leaf.pem" -noout -serial
}

first() {
	caddy_run "$W/store1"
	stored "$W/store1" >"$W/s1"
	caddy_stop
}
step "Caddy obtains a certificate and serves it over TLS (verified)" first

# Caddy renews the certificate in store1 by itself: the window is set so
# that renewal falls due 5 s after the start (ratio of the lifetime that
# must remain), and its maintenance loop looks every second.
renew() {
	local crt nb na now ratio

	crt=$(find "$W/store1/certificates" -name site.example.test.crt)
	nb=$(date -d "$(openssl x509 -in "$crt" -noout -startdate | cut -d= -f2)" +%s)
	na=$(date -d "$(openssl x509 -in "$crt" -noout -enddate | cut -d= -f2)" +%s)
	now=$(date +%s)
	ratio=$(awk -v l=$((na - nb)) -v r=$((na - now - 5)) 'BEGIN { printf "%.8f", r / l }')
	caddy_config "$W/store1"
	caddy adapt --config "$W/Caddyfile" --adapter caddyfile |
		jq --argjson r "$ratio" '.apps.tls.automation.renew_interval = 1000000000 |
			.apps.tls.automation.policies[0].renewal_window_ratio = $r' \
		>"$W/renew.json"
	caddy_run "$W/store1" "$W/renew.json"
	for _ in $(seq 1 60); do
		s=$(served) || true
		if [ -n "$s" ] && [ "$s" != "$(cat "$W/s1")" ]; then
			break
		fi
		sleep 1
	done
	caddy_stop
	[ "$s" != "$(cat "$W/s1")" ] || { log "Caddy did not renew"; return 1; }
	stored "$W/store1" >"$W/s1r"
	[ "$(cat "$W/s1r")" = "$s" ]
	serial=$(sed 's/serial=//' "$W/s1r" | tr 'A-F' 'a-f' | sed 's/^0*//')
	sqlite3 "$SUBCA_DATA/subca.db" \
		"SELECT status FROM certificates WHERE serial = '$serial'" >"$W/st"
	has "$W/st" "valid"
}
step "Caddy renews it on its own when the renewal window opens" renew

second() {
	caddy_run "$W/store2"
	stored "$W/store2" >"$W/s2"
	caddy_stop
	! cmp -s "$W/s1" "$W/s2"
}
step "a fresh Caddy obtains another certificate" second

finish
