#!/bin/bash
# The admin API over real HTTPS with curl: the whole bring-your-own-root
# flow (openssl signs the intermediate CSR the API hands out), listing,
# audit, provisioners (an apikey added through the API signs on /sign, then
# is removed and refused), token scopes (404 for another authority, 403 for
# global routes), bad credentials and JSON, and 413 for an upload over 1 MiB.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root 2>/dev/null
	sc authority create other 2>/dev/null
	sc admin token create --description "api test" >"$W/global.tok" 2>/dev/null
	[ -s "$W/global.tok" ]
	gen_root openssl ec-p384 "$W/root" "API Test Root"
}
step "data dir, a TLS authority and two admin tokens" setup

PORT=$(free_port)
URL=https://127.0.0.1:$PORT
CA=$T/tls-root.pem
GLOBAL=$(cat "$W/global.tok" 2>/dev/null)

start() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 2 \
		--tls-authority server-tls --tls-root-out "$CA"
	cp "$T/serve.log.pid" "$T/serve.pid"
	has "$T/serve.log" "listening on https://127.0.0.1:$PORT/"
}
step "subca serve starts" start

# api TOKEN METHOD PATH [CURL ARGS...]: body in $W/body, status in $W/status.
api() {
	local tok=$1 method=$2 path=$3 auth=()
	shift 3
	[ -z "$tok" ] || auth=(-H "Authorization: Bearer $tok")
	curl -sS --cacert "$CA" -o "$W/body" -w '%{http_code}' -X "$method" \
		"${auth[@]}" "$@" "$URL/admin/v1$path" >"$W/status"
}
status_is() {
	[ "$(cat "$W/status")" = "$1" ] || {
		log "status $(cat "$W/status"), want $1"; cat "$W/body" >&2; return 1; }
}
json() { "$PY" -c "import json,sys; d=json.load(open('$W/body')); print($1)"; }

byor() {
	api "$GLOBAL" POST /authorities -H 'Content-Type: application/json' \
		-d '{"name":"demo","subdomain":"dm"}'
	status_is 201
	[ "$(json 'd["state"]')" = needs-root ]
	# a token for demo only, made through the API
	api "$GLOBAL" POST /tokens -d '{"authorities":["demo"],"expires":"1h"}'
	status_is 201
	json 'd["token"]' >"$W/scoped.tok"
	SCOPED=$(cat "$W/scoped.tok")
	api "$SCOPED" PUT /authorities/demo/root --data-binary @"$W/root/root.crt"
	status_is 200
	[ "$(json 'd["result"]')" = accepted ]
	api "$SCOPED" POST /authorities/demo/intermediates \
		-d '{"cn":"Demo Issuing CA","org":"subca tests","days":365,"permit_dns":["example.com"]}'
	status_is 201
	json 'd["csr"]' >"$W/demo.csr"
	[ "$(json 'len(d["instructions"])')" = 9 ]
	json 'd["instructions"]["openssl"]' >"$W/openssl.sh"
	grep -q "openssl x509" "$W/openssl.sh"
	api "$SCOPED" GET /authorities/demo/intermediates/pending/csr
	status_is 200
	cmp -s <(openssl req -in "$W/body" -outform DER) <(openssl req -in "$W/demo.csr" -outform DER)
	api "$SCOPED" GET "/authorities/demo/intermediates/pending/instructions?tool=certtool"
	status_is 200
	has "$W/body" certtool
	# the customer signs offline with openssl
	printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\nnameConstraints=critical,permitted;DNS:example.com\n' >"$W/int.ext"
	openssl x509 -req -in "$W/demo.csr" -CA "$W/root/root.crt" \
		-CAkey "$W/root/root.key" -CAcreateserial -days 365 -sha384 \
		-extfile "$W/int.ext" -out "$W/demo.crt" 2>/dev/null
	api "$SCOPED" PUT /authorities/demo/intermediates/pending/certificate \
		--data-binary @"$W/demo.crt"
	status_is 200
	[ "$(json 'd["result"]')" = accepted ]
	api "$SCOPED" GET /authorities/demo
	status_is 200
	[ "$(json 'd["state"]')" = active ]
	api "$SCOPED" GET /authorities/demo/intermediates
	[ "$(json 'd["intermediates"][0]["state"]')" = active ]
	# the published chain verifies against the customer's root
	curl -sS --cacert "$CA" "$URL/a/demo/chain" >"$W/chain.pem"
	openssl verify -CAfile "$W/root/root.crt" "$W/chain.pem" >/dev/null
}
step "BYOR through the admin API: create, root, CSR, openssl signs, upload, active" byor

issued() {
	SCOPED=$(cat "$W/scoped.tok")
	sc issue demo --cn a.example.com --out-key "$W/a.key" --out-cert "$W/a.crt" 2>/dev/null
	sc issue demo --cn b.example.com --out-key "$W/b.key" --out-cert "$W/b.crt" 2>/dev/null
	api "$SCOPED" GET "/authorities/demo/certificates?limit=1"
	status_is 200
	[ "$(json 'len(d["certificates"])')" = 1 ]
	local next
	next=$(json 'd["next"]')
	api "$SCOPED" GET "/authorities/demo/certificates?limit=1&after=$next"
	[ "$(json 'd["certificates"][0]["subject"]')" != "" ]
	[ "$(json 'd["next"]')" = None ]
	api "$SCOPED" GET "/authorities/demo/certificates?name=b.example"
	local serial
	serial=$(json 'd["certificates"][0]["serial"]')
	api "$SCOPED" POST "/authorities/demo/certificates/$serial/revoke" -d '{"reason":"superseded"}'
	status_is 200
	[ "$(json 'd["reason"]')" = superseded ]
	api "$SCOPED" GET "/authorities/demo/certificates?status=revoked"
	[ "$(json 'd["certificates"][0]["serial"]')" = "$serial" ]
	api "$SCOPED" GET "/audit?authority=demo&limit=5"
	status_is 200
	[ "$(json 'd["entries"][0]["action"]')" = certificate.revoke ]
	json 'd["entries"][0]["actor"]' | grep '^token:' >/dev/null
}
step "certificates: paging, name filter, revoke, audit names the token" issued

provisioners() {
	SCOPED=$(cat "$W/scoped.tok")
	api "$SCOPED" POST /authorities/demo/provisioners \
		-d '{"name":"svc","type":"apikey","policy":{"dns":[".example.com"],"version":1,"max_days":30}}'
	status_is 201
	[ "$(json 'd["provisioner"]["type"]')" = apikey ]
	json 'd["api_key"]' >"$W/svc.key"
	grep -q '^subca_key_' "$W/svc.key"
	api "$SCOPED" POST /authorities/demo/provisioners \
		-d '{"name":"svc","type":"apikey","policy":{"version":1,"allow_all_names":true}}'
	status_is 409
	api "$SCOPED" POST /authorities/demo/provisioners \
		-d '{"name":"bad","type":"apikey","policy":{"version":1,"dns":"x"}}'
	status_is 400
	grep -q 'policy member \\"dns\\"' "$W/body"
	# its key signs a CSR made by openssl; the chain verifies against the root
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/p1.key" -subj "/CN=p1.example.com" \
		-addext "subjectAltName=DNS:p1.example.com" -out "$W/p1.csr" 2>/dev/null
	"$PY" -c "import json,sys; print(json.dumps({'csr': open(sys.argv[1]).read()}))" \
		"$W/p1.csr" >"$W/p1.json"
	sign_with() {
		curl -sS --cacert "$CA" -o "$W/body" -w '%{http_code}' \
			-H "Authorization: Bearer $(cat "$W/svc.key")" \
			-H 'Content-Type: application/json' --data-binary @"$W/p1.json" \
			"$URL/a/demo/sign" >"$W/status"
	}
	sign_with
	status_is 201
	json 'd["certificate"]' >"$W/p1.crt"
	json '"".join(d["chain"])' >"$W/p1-cas.pem"
	openssl verify -x509_strict -CAfile "$W/root/root.crt" \
		-untrusted "$W/p1-cas.pem" "$W/p1.crt" >/dev/null
	# listed without its key
	api "$SCOPED" GET /authorities/demo/provisioners
	status_is 200
	[ "$(json '[p["name"] for p in d["provisioners"]]')" = "['svc']" ]
	if grep -F "$(cat "$W/svc.key")" "$W/body" >/dev/null; then return 1; fi
	# another authority's provisioners do not exist for this token
	api "$SCOPED" GET /authorities/other/provisioners
	status_is 404
	api "$SCOPED" DELETE /authorities/demo/provisioners/svc
	status_is 200
	api "$SCOPED" GET /authorities/demo/provisioners
	[ "$(json 'len(d["provisioners"])')" = 0 ]
	# the key no longer works
	sign_with
	status_is 401
	api "$SCOPED" DELETE /authorities/demo/provisioners/svc
	status_is 404
}
step "provisioners through the admin API: add an apikey, sign with it, list, remove, the key is refused" provisioners

refusals() {
	SCOPED=$(cat "$W/scoped.tok")
	api "" GET /authorities
	status_is 401
	api "subca_adm_nonsense" GET /authorities
	status_is 401
	api "$SCOPED" GET /authorities/other
	status_is 404
	grep -q 'no authority named' "$W/body"
	api "$SCOPED" POST /authorities -d '{"name":"x2"}'
	status_is 403
	api "$SCOPED" POST /tokens -d '{}'
	status_is 403
	api "$SCOPED" GET /authorities
	[ "$(json '[a["name"] for a in d["authorities"]]')" = "['demo']" ]
	api "$GLOBAL" POST /authorities -d '{"name":"x3","extra":1}'
	status_is 400
	grep -q 'unknown member' "$W/body"
	api "$GLOBAL" POST /authorities -d 'garbage'
	status_is 400
	head -c $((1024 * 1024 + 1)) /dev/zero >"$W/big"
	api "$GLOBAL" PUT /authorities/other/root --data-binary @"$W/big"
	status_is 413
	api "$GLOBAL" POST /tokens -d '{"authorities":["other"],"expires":"1d"}'
	status_is 201
	local t
	t=$(json 'd["token"]')
	api "$t" GET /authorities/other
	status_is 200
}
step "refusals: no or bad token, scoped token elsewhere (404) and on global routes (403), bad JSON, 413" refusals

stop() {
	kill -TERM "$(cat "$T/serve.pid")"
}
step "server stops" stop

# mTLS admin: client certificates from --admin-client-ca are global admins.
client_certs() {
	local ca
	for ca in adminca rogueca; do
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$W/$ca.key" -out "$W/$ca.crt" -days 30 -subj "/CN=$ca" \
			-addext "basicConstraints=critical,CA:true" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$W/$ca-client.key" -out "$W/$ca-client.csr" \
			-subj "/CN=operator of $ca" 2>/dev/null
		printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' >"$W/client.ext"
		openssl x509 -req -in "$W/$ca-client.csr" -CA "$W/$ca.crt" -CAkey "$W/$ca.key" \
			-set_serial 0x$(openssl rand -hex 8) -days 7 -extfile "$W/client.ext" \
			-out "$W/$ca-client.crt" 2>/dev/null
	done
	[ -s "$W/adminca-client.crt" ] && [ -s "$W/rogueca-client.crt" ]
}
step "an admin client CA and a rogue one, each with a client certificate" client_certs

PORT2=$(free_port)
mtls_start() {
	start_server "$T/serve2.log" --listen "127.0.0.1:$PORT2" --workers 1 \
		--tls-authority server-tls --admin-client-ca "$W/adminca.crt"
	cp "$T/serve2.log.pid" "$T/serve2.pid"
	has "$T/serve2.log" "listening on https://127.0.0.1:$PORT2/"
}
step "subca serve --admin-client-ca starts" mtls_start

mtls() {
	local code
	code=$(curl -sS --cacert "$CA" --cert "$W/adminca-client.crt" \
		--key "$W/adminca-client.key" -o "$W/body" -w '%{http_code}' \
		"https://127.0.0.1:$PORT2/admin/v1/authorities")
	[ "$code" = 200 ] || { log "admin client cert: $code"; return 1; }
	json '[a["name"] for a in d["authorities"]]' | grep demo >/dev/null
	code=$(curl -sS --cacert "$CA" --cert "$W/rogueca-client.crt" \
		--key "$W/rogueca-client.key" -o "$W/body" -w '%{http_code}' \
		"https://127.0.0.1:$PORT2/admin/v1/authorities")
	[ "$code" = 401 ] || { log "rogue client cert: $code"; return 1; }
	code=$(curl -sS --cacert "$CA" -o "$W/body" -w '%{http_code}' \
		"https://127.0.0.1:$PORT2/admin/v1/authorities")
	[ "$code" = 401 ] || { log "no client cert: $code"; return 1; }
}
step "mTLS: the admin CA's client certificate is a global admin; another CA's or none is 401" mtls

stop2() {
	kill -TERM "$(cat "$T/serve2.pid")"
}
step "second server stops" stop2

finish
