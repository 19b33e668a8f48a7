#!/bin/bash
# Revocation publishing of `subca serve` against real clients: leaves issued
# through the sign API carry the server-derived CRL and OCSP URLs; some are
# revoked through the admin API and POST /revoke; `openssl ocsp` gets good,
# revoked (with reason) and unknown answers over plain http (POST) and curl
# over GET; malformed and foreign requests get malformedRequest and
# unauthorized; the CRL (rebuilt shortly after the revocations) verifies
# with `openssl crl -verify` and `certtool --crl-info`, makes `openssl
# verify -crl_check` refuse the revoked leaf, and a TLS client checking it
# refuses a revoked server certificate and accepts a good one.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"

PORT=$(free_port)
HPORT=$(free_port)
URL=https://127.0.0.1:$PORT
HURL=http://127.0.0.1:$HPORT
CA=$T/tls-root.pem

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root
	sc authority create demo --subdomain dm --generate-root
	sc authority create other --generate-root
	sc provisioner add demo svc --type apikey --allow-dns .example.test \
		>"$W/apikey" 2>/dev/null
	sc admin token create >"$W/admin" 2>/dev/null
}
step "authorities, an apikey provisioner and an admin token" setup
APIKEY=$(cat "$W/apikey" 2>/dev/null || true)
ADMIN=$(cat "$W/admin" 2>/dev/null || true)

serve() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 2 \
		--tls-authority server-tls --tls-root-out "$CA" \
		--base-domain example.test --http-listen "127.0.0.1:$HPORT" \
		--public-url "$HURL" --crl-rebuild-delay 1
	grep "listening on http://127.0.0.1:$HPORT/" "$T/serve.log" >/dev/null
}
step "serve starts with a plain-HTTP listener and a public URL" serve

# sign NAME: a leaf for NAME.example.test from POST /sign into $W/NAME.pem
# (key $W/NAME.key), its serial into $W/NAME.serial.
sign() {
	local n=$1
	openssl_genkey ec-p256 "$W/$n.key"
	openssl req -new -key "$W/$n.key" -subj "/CN=$n.example.test" \
		-out "$W/$n.csr" 2>/dev/null
	"$PY" -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' \
		"$W/$n.csr" >"$W/body"
	curl -sS --fail --cacert "$CA" -H "Authorization: Bearer $APIKEY" \
		-H 'Content-Type: application/json' --data-binary "@$W/body" \
		-o "$W/resp" "$URL/a/demo/sign"
	"$PY" - "$W/resp" "$W/$n" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
open(sys.argv[2] + ".pem", "w").write(r["certificate"])
open(sys.argv[2] + ".serial", "w").write(r["serial"])
EOF
}

issue_leaves() {
	sign good
	sign bad
	sign old
	curl -sS --fail --cacert "$CA" -o "$W/root.pem" "$URL/a/demo/roots"
	# a generated root: the chain is the intermediate alone
	curl -sS --fail --cacert "$CA" -o "$W/int.pem" "$URL/a/demo/chain"
	[ "$(pem_count "$W/int.pem")" = 1 ]
	openssl x509 -in "$W/good.pem" -noout -text >"$W/good.txt"
	grep -o "$HURL/a/demo/crl/[0-9]*\.crl" "$W/good.txt" | head -n 1 >"$W/crl.url"
	[ -s "$W/crl.url" ]
	has "$W/good.txt" "OCSP - URI:$HURL/a/demo/ocsp"
	openssl verify -x509_strict -CAfile "$W/root.pem" -untrusted "$W/int.pem" \
		"$W/good.pem"
}
step "leaves from POST /sign carry the derived CRL distribution point and OCSP URL" issue_leaves
CRLURL=$(cat "$W/crl.url" 2>/dev/null || echo none)

revoke_them() {
	printf '{"reason": "keyCompromise"}' >"$W/b"
	curl -sS --fail --cacert "$CA" -H "Authorization: Bearer $ADMIN" \
		--data-binary "@$W/b" -o /dev/null \
		"$URL/admin/v1/authorities/demo/certificates/$(cat "$W/bad.serial")/revoke"
	printf '{"serial": "%s", "reason": "superseded"}' "$(cat "$W/old.serial")" >"$W/b"
	curl -sS --fail --cacert "$CA" -H "Authorization: Bearer $APIKEY" \
		-H 'Content-Type: application/json' --data-binary "@$W/b" \
		-o /dev/null "$URL/a/demo/revoke"
}
step "revoke one leaf through the admin API and one through POST /revoke" revoke_them

# ocsp_cli LEAF: openssl ocsp against the plain-HTTP responder (POST).
ocsp_cli() {
	openssl ocsp -issuer "$W/int.pem" -cert "$1" -url "$HURL/a/demo/ocsp" \
		-CAfile "$W/root.pem" -resp_text "${@:2}" >"$W/ocsp.out" 2>&1 ||
		{ sed 's/^/#   /' "$W/ocsp.out" >&2; return 1; }
}

ocsp_good() {
	ocsp_cli "$W/good.pem"
	has "$W/ocsp.out" "Response verify OK"
	has "$W/ocsp.out" "$W/good.pem: good"
	has "$W/ocsp.out" "Responder Id: "
	has "$W/ocsp.out" "OCSP Nonce"
}
step "openssl ocsp: the good leaf is good, signed by the intermediate, nonce echoed" ocsp_good

ocsp_revoked() {
	ocsp_cli "$W/bad.pem"
	has "$W/ocsp.out" "$W/bad.pem: revoked"
	has "$W/ocsp.out" "Reason: keyCompromise"
	has "$W/ocsp.out" "Revocation Time: "
	ocsp_cli "$W/old.pem" -no_nonce
	has "$W/ocsp.out" "$W/old.pem: revoked"
	has "$W/ocsp.out" "Reason: superseded"
}
step "openssl ocsp: the revoked leaves are revoked with time and reason (right after revocation)" ocsp_revoked

ocsp_unknown() {
	openssl ocsp -issuer "$W/int.pem" -serial 0x1234abcd -url "$HURL/a/demo/ocsp" \
		-CAfile "$W/root.pem" >"$W/ocsp.out" 2>&1
	has "$W/ocsp.out" "0x1234abcd: unknown"
	has "$W/ocsp.out" "Response verify OK"
}
step "openssl ocsp: an unknown serial is unknown" ocsp_unknown

ocsp_get() {
	openssl ocsp -sha256 -issuer "$W/int.pem" -cert "$W/bad.pem" -no_nonce \
		-reqout "$W/req.der"
	local b64
	b64=$("$PY" -c 'import base64,sys,urllib.parse; print(urllib.parse.quote(base64.b64encode(open(sys.argv[1],"rb").read()).decode(), safe=""))' "$W/req.der")
	curl -sS --fail -D "$W/hdr" -o "$W/resp.der" \
		--resolve "dm.example.test:$HPORT:127.0.0.1" \
		"http://dm.example.test:$HPORT/ocsp/$b64"
	grep -i "^content-type: application/ocsp-response" "$W/hdr" >/dev/null
	grep -i "^cache-control: max-age=" "$W/hdr" >/dev/null
	openssl ocsp -respin "$W/resp.der" -reqin "$W/req.der" -sha256 \
		-issuer "$W/int.pem" -CAfile "$W/root.pem" -cert "$W/bad.pem" \
		>"$W/ocsp.out" 2>&1
	has "$W/ocsp.out" "$W/bad.pem: revoked"
	# the cached answer again (no nonce), still revoked
	curl -sS --fail -o "$W/resp2.der" "$HURL/a/demo/ocsp/$b64"
	cmp "$W/resp.der" "$W/resp2.der"
}
step "GET /ocsp/{base64} by host (dm.example.test) with a SHA-256 CertID: revoked, cacheable" ocsp_get

# get_status LEAF: the status of LEAF through GET (cacheable, no nonce).
get_status() {
	openssl ocsp -issuer "$W/int.pem" -cert "$1" -no_nonce -reqout "$W/req.der"
	curl -sS --fail -o "$W/resp.der" \
		"$HURL/a/demo/ocsp/$(base64 -w0 "$W/req.der")"
	openssl ocsp -respin "$W/resp.der" -issuer "$W/int.pem" -cert "$1" \
		-CAfile "$W/root.pem" 2>/dev/null | sed -n "s|^$1: ||p"
}

ocsp_cache_invalidated() {
	sign late
	[ "$(get_status "$W/late.pem")" = good ]
	[ "$(get_status "$W/late.pem")" = good ] # now from the cache
	printf '{"reason": "cessationOfOperation"}' >"$W/b"
	curl -sS --fail --cacert "$CA" -H "Authorization: Bearer $ADMIN" \
		--data-binary "@$W/b" -o /dev/null \
		"$URL/admin/v1/authorities/demo/certificates/$(cat "$W/late.serial")/revoke"
	[ "$(get_status "$W/late.pem")" = revoked ]
}
step "a cached good answer is dropped at once when the certificate is revoked" ocsp_cache_invalidated

ocsp_errors() {
	printf 'garbage' >"$W/garbage"
	curl -sS -o "$W/resp.der" -H 'Content-Type: application/ocsp-request' \
		--data-binary "@$W/garbage" "$HURL/a/demo/ocsp"
	openssl ocsp -respin "$W/resp.der" -resp_text -noverify >"$W/ocsp.out" 2>&1 || true
	grep -i "Responder Error: malformedrequest" "$W/ocsp.out" >/dev/null
	head -c 5000 /dev/zero >"$W/big"
	curl -sS -o "$W/resp.der" --data-binary "@$W/big" "$HURL/a/demo/ocsp"
	openssl ocsp -respin "$W/resp.der" -resp_text -noverify >"$W/ocsp.out" 2>&1 || true
	grep -i "Responder Error: malformedrequest" "$W/ocsp.out" >/dev/null
	curl -sS --fail -o "$W/other-int.pem" --cacert "$CA" "$URL/a/other/chain"
	openssl ocsp -issuer "$W/other-int.pem" -serial 0x01 -url "$HURL/a/demo/ocsp" \
		>"$W/ocsp.out" 2>&1 || true
	grep -i "Responder Error: unauthorized" "$W/ocsp.out" >/dev/null
	# a GET path over 2 KiB: 414 (RFC 9110), such requests go by POST
	curl -sS -o "$W/long.body" -w '%{http_code}' \
		"$HURL/a/demo/ocsp/$(head -c 2100 /dev/zero | tr '\0' A)" >"$W/long.code"
	[ "$(cat "$W/long.code")" = 414 ]
	has "$W/long.body" '"type":"urn:subca:error:uri_too_long"'
}
step "garbage and oversized requests get malformedRequest, a GET over 2 KiB 414, another authority's issuer unauthorized" ocsp_errors

plain_only_public() {
	[ "$(curl -sS -o /dev/null -w '%{http_code}' "$HURL/admin/v1/authorities")" = 404 ]
	[ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$HURL/a/demo/sign")" = 404 ]
	[ "$(curl -sS -o /dev/null -w '%{http_code}' "$HURL/a/demo/chain")" = 200 ]
}
step "the plain-HTTP listener serves only the public routes (admin and sign API 404)" plain_only_public

# crl_fetch: the CRL from its distribution point, once it lists the three
# revoked leaves (the rebuild runs 1 s after the revocations).
crl_fetch() {
	local i
	for i in $(seq 1 50); do
		curl -sS --fail -D "$W/crl.hdr" -o "$W/crl.der" "$CRLURL"
		openssl crl -inform DER -in "$W/crl.der" -noout -text >"$W/crl.txt"
		tr -d ':' <"$W/crl.txt" | tr 'A-F' 'a-f' >"$W/crl.flat"
		if grep -F "$(cat "$W/bad.serial")" "$W/crl.flat" >/dev/null &&
			grep -F "$(cat "$W/old.serial")" "$W/crl.flat" >/dev/null &&
			grep -F "$(cat "$W/late.serial")" "$W/crl.flat" >/dev/null; then
			grep -i "^content-type: application/pkix-crl" "$W/crl.hdr" >/dev/null
			return 0
		fi
		sleep 0.2
	done
	log "the CRL never listed the revoked serials"
	return 1
}
step "the CRL at the leaves' distribution point lists the revocations soon after" crl_fetch

crl_checks() {
	openssl crl -inform DER -in "$W/crl.der" -out "$W/crl.pem"
	cat "$W/root.pem" "$W/int.pem" >"$W/cas.pem"
	openssl crl -in "$W/crl.pem" -CAfile "$W/cas.pem" -verify -noout 2>&1 |
		grep "verify OK" >/dev/null
	has "$W/crl.txt" "X509v3 CRL Number"
	has "$W/crl.txt" "X509v3 Authority Key Identifier"
	has "$W/crl.txt" "Key Compromise"
	has "$W/crl.txt" "Superseded"
	has "$W/crl.txt" "Next Update"
	certtool --crl-info --inder --infile "$W/crl.der" >"$W/certtool.out" 2>&1
	has "$W/certtool.out" "Revoked certificates (3)"
	certtool --verify-crl --load-ca-certificate "$W/int.pem" --infile "$W/crl.pem" \
		>"$W/certtool.out" 2>&1
	has "$W/certtool.out" "Verified"
}
step "openssl crl -CAfile -verify and certtool --crl-info / --verify-crl accept the CRL" crl_checks

crl_by_host() {
	local p=${CRLURL#"$HURL"/a/demo}
	curl -sS --fail -o "$W/crl2.der" --resolve "dm.example.test:$HPORT:127.0.0.1" \
		"http://dm.example.test:$HPORT$p"
	openssl crl -inform DER -in "$W/crl2.der" -noout
	curl -sS --fail --cacert "$CA" -o "$W/crl3.der" "$URL/a/demo$p"
	openssl crl -inform DER -in "$W/crl3.der" -noout
}
step "the CRL is reached by host (dm.example.test) and over https too" crl_by_host

verify_crl_check() {
	openssl verify -crl_check -CRLfile "$W/crl.pem" -CAfile "$W/root.pem" \
		-untrusted "$W/int.pem" "$W/good.pem"
	! openssl verify -crl_check -CRLfile "$W/crl.pem" -CAfile "$W/root.pem" \
		-untrusted "$W/int.pem" "$W/bad.pem" >"$W/v.out" 2>&1
	has "$W/v.out" "certificate revoked"
}
step "openssl verify -crl_check with the downloaded CRL: good passes, revoked refused" verify_crl_check

# tls_crl LEAF CRL-ARGS...: s_server with LEAF, s_client checking the CRL
# (the downloaded file, or fetched from the distribution point); exit status.
tls_crl() {
	local n=$1 port pid rc=0 i
	shift
	port=$(free_port)
	openssl s_server -accept "127.0.0.1:$port" -cert "$W/$n.pem" \
		-key "$W/$n.key" -cert_chain "$W/int.pem" -www </dev/null \
		>"$W/s_server.log" 2>&1 &
	pid=$!
	echo "$pid" >>"$T/pids"
	for i in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.1
	done
	openssl s_client -connect "127.0.0.1:$port" -CAfile "$W/root.pem" \
		-crl_check "$@" -verify_return_error \
		-verify_hostname "$n.example.test" </dev/null \
		>"$W/s_client.log" 2>&1 || rc=$?
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	return "$rc"
}

tls_handshakes() {
	tls_crl good -CRL "$W/crl.pem"
	grep "Verify return code: 0 (ok)" "$W/s_client.log" >/dev/null
	! tls_crl bad -CRL "$W/crl.pem"
	grep -i "certificate revoked" "$W/s_client.log" >/dev/null
	# the same, with the CRL fetched from the leaf's distribution point
	tls_crl good -crl_download
	grep "Verify return code: 0 (ok)" "$W/s_client.log" >/dev/null
	! tls_crl bad -crl_download
	grep -i "certificate revoked" "$W/s_client.log" >/dev/null
}
step "a TLS client checking the CRL (downloaded, or fetched by s_client from the distribution point) accepts the good server certificate and refuses the revoked one" tls_handshakes

cli_crl() {
	sc crl demo --der --out "$W/cli.der"
	openssl crl -inform DER -in "$W/cli.der" -noout -text >"$W/cli.txt"
	has "$W/cli.txt" "Key Compromise"
	sc crl demo >"$W/cli.pem"
	has "$W/cli.pem" "-----BEGIN X509 CRL-----"
	expect_fail NOT_FOUND 5 -- sc crl demo --intermediate 999
}
step "subca crl builds and prints the CRL locally (DER and PEM); an unknown intermediate is not found" cli_crl

finish
