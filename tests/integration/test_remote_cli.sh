#!/bin/bash
# The CLI's remote mode: the bring-your-own-root flow run with
# SUBCA_SERVER/SUBCA_TOKEN/SUBCA_CACERT against `subca serve` (no data
# directory in reach), then the same questions asked locally: the --json
# and text answers, refusals and exit statuses must be the same.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"
DATA=$SUBCA_DATA

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root 2>/dev/null
	sc admin token create --description "remote cli" >"$W/admin.tok" 2>/dev/null
	[ -s "$W/admin.tok" ]
	gen_root openssl ec-p384 "$W/root" "Remote CLI Root"
}
step "data dir, a TLS authority, an admin token and an openssl root" setup

PORT=$(free_port)
CA=$T/tls-root.pem

start() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 1 \
		--tls-authority server-tls --tls-root-out "$CA"
	cp "$T/serve.log.pid" "$T/serve.pid"
	has "$T/serve.log" "listening on https://127.0.0.1:$PORT/"
}
step "subca serve starts" start

# remote CMD...: subca against the server, with no data directory at all.
remote() {
	SUBCA_DATA=$T/nowhere SUBCA_SERVER=https://127.0.0.1:$PORT \
	SUBCA_TOKEN=$(cat "$W/admin.tok") SUBCA_CACERT=$CA sc "$@"
}
# local CMD...: subca on the data directory, no server.
local_sc() {
	(unset SUBCA_SERVER SUBCA_TOKEN SUBCA_CACERT; SUBCA_DATA=$DATA sc "$@")
}

byor() {
	remote authority create acme 2>"$W/create.err"
	has "$W/create.err" 'authority "acme" created.'
	remote authority show acme >"$W/show0.txt"
	has "$W/show0.txt" "needs-root"
	remote root import acme "$W/root/root.crt" 2>"$W/import.err"
	has "$W/import.err" 'root imported into "acme"'
	remote intermediate request acme --cn "Acme Remote Intermediate" \
		--org "subca tests" --path-len 0 --out "$W/acme.csr" 2>"$W/req.err"
	openssl req -in "$W/acme.csr" -noout -verify 2>/dev/null
	has "$W/req.err" "openssl x509 -req"
	remote intermediate csr acme >"$W/acme2.csr"
	cmp "$W/acme.csr" "$W/acme2.csr"
	remote intermediate instructions acme --tool openssl >"$W/sign.sh"
	local_sc intermediate instructions acme --tool openssl >"$W/sign.local"
	cmp "$W/sign.sh" "$W/sign.local"
	tail -n 1 "$W/sign.sh" | grep "subca intermediate import acme" >/dev/null
	cp "$W/root/root.crt" "$W/root/root.key" "$W/"
	# the script's last line, `subca intermediate import`, runs remotely too
	SUBCA_DATA=$T/nowhere SUBCA_SERVER=https://127.0.0.1:$PORT \
	SUBCA_TOKEN=$(cat "$W/admin.tok") SUBCA_CACERT=$CA sh sign.sh \
		>"$W/sign.out" 2>"$W/sign.err"
	has "$W/sign.err" "activated"
	remote authority show acme >"$W/show1.txt"
	has "$W/show1.txt" "state:         active"
	[ ! -e "$T/nowhere" ]
}
step "remote: authority create, root import, request, openssl signs, import" byor

remote_discard() {
	local before
	before=$(ls "$DATA"/keys | wc -l)
	remote intermediate request acme --cn "Acme Mistake" --out "$W/mistake.csr" 2>"$W/mistake.err"
	lacks "$W/mistake.err" "earlier pending" # the only pending one
	[ "$(ls "$DATA"/keys | wc -l)" = $((before + 1)) ]
	remote intermediate request acme --cn "Acme Mistake 2" --out "$W/mistake2.csr" 2>"$W/mistake2.err"
	has "$W/mistake2.err" 'Note: 1 earlier pending request of "acme" still holds a key'
	remote intermediate discard acme --id "$(local_sc intermediate list acme --json |
		"$PY" -c 'import json,sys; print([i["id"] for i in json.load(sys.stdin) if i["state"] == "pending"][0])')" 2>/dev/null
	remote intermediate discard acme 2>"$W/rdiscard.err"
	has "$W/rdiscard.err" "discarded; its key is destroyed"
	[ "$(ls "$DATA"/keys | wc -l)" = "$before" ]
	local_sc audit acme >"$W/raudit.txt"
	has "$W/raudit.txt" "intermediate.discard"
	remote authority show acme >"$W/show2.txt"
	has "$W/show2.txt" "state:         active"
}
step "remote: intermediate discard of a new request destroys its key; acme stays active" remote_discard
step "remote: nothing pending to discard is NO_PENDING (exit 6), as locally" \
	expect_fail NO_PENDING 6 -- remote intermediate discard acme

same() {
	remote "$@" >"$W/remote.out" 2>"$W/remote.err"
	local_sc "$@" >"$W/local.out" 2>/dev/null
	cmp "$W/remote.out" "$W/local.out" ||
		{ diff "$W/remote.out" "$W/local.out" >&2; return 1; }
}
step "authority show --json: remote == local" same authority show acme --json
step "authority show (text): remote == local" same authority show acme
step "intermediate list --json: remote == local" same intermediate list acme --json
step "intermediate list (text): remote == local" same intermediate list acme
step "audit --json of an authority: remote == local" same audit acme --json

remote_rotation() {
	remote authority rotation acme --rotate-before 30d \
		--signer-command /usr/local/bin/sign-next --hook-timeout 90s \
		--days 40 >"$W/rot.out"
	has "$W/rot.out" "rotate before:  2592000 s before expiry"
	has "$W/rot.out" "signer command: /usr/local/bin/sign-next"
	has "$W/rot.out" "hook timeout:   90 s"
	has "$W/rot.out" "lifetime:       40"
	local_sc audit acme --limit 1 >"$W/rot.audit"
	has "$W/rot.audit" "rotation.configure"
}
step "remote: authority rotation sets unattended rotation (audited on the server)" remote_rotation
step "authority rotation --json: remote == local" same authority rotation acme --json
step "authority rotation (text): remote == local" same authority rotation acme
step "remote: a bad duration is a usage error, as locally" \
	expect_fail USAGE 64 "must end with one unit" -- \
	remote authority rotation acme --rotate-before 30x --signer-command /bin/true
remote_rotation_off() {
	remote authority rotation acme --off 2>"$W/rotoff.err"
	has "$W/rotoff.err" 'unattended rotation of "acme" is off'
	expect_fail NOT_FOUND 5 -- local_sc authority rotation acme
	expect_fail NOT_FOUND 5 -- remote authority rotation acme
}
step "remote: authority rotation --off; showing it then is NOT_FOUND, as locally" remote_rotation_off

# The server's own TLS authority is not a tenant: the API does not list it.
list_same() {
	remote authority list --json >"$W/remote.json"
	local_sc authority list --json |
		jq --indent 2 'map(select(.name != "server-tls"))' >"$W/local.json"
	cmp "$W/remote.json" "$W/local.json"
	remote authority list >"$W/remote.txt"
	local_sc authority list | grep -v '^server-tls ' >"$W/local.txt"
	cmp "$W/remote.txt" "$W/local.txt"
}
step "authority list --json and text: remote == local (but server-tls)" list_same

refusal() {
	local rrc=0 lrc=0
	remote authority create other 2>/dev/null
	remote root import other "$W/root/root.key" 2>"$W/r.err" || rrc=$?
	local_sc root import other "$W/root/root.key" 2>"$W/l.err" || lrc=$?
	[ "$rrc" != 0 ] && [ "$rrc" = "$lrc" ] ||
		{ log "exit remote $rrc, local $lrc"; return 1; }
	has "$W/r.err" "error [PRIVATE_KEY]"
	grep "error \[" "$W/l.err" >"$W/l.lines"
	grep "error \[" "$W/r.err" >"$W/r.lines"
	cmp "$W/r.lines" "$W/l.lines"
	lacks "$W/r.err" "PRIVATE KEY-----"
}
step "root import of a private key: same refusal and exit status" refusal

import_same() {
	local rrc=0 lrc=0
	remote intermediate import acme "$W/root/root.crt" --json \
		>"$W/ri.json" 2>"$W/ri.err" || rrc=$?
	local_sc intermediate import acme "$W/root/root.crt" --json \
		>"$W/li.json" 2>"$W/li.err" || lrc=$?
	[ "$rrc" != 0 ] && [ "$rrc" = "$lrc" ] ||
		{ log "exit remote $rrc, local $lrc"; return 1; }
	cmp "$W/ri.json" "$W/li.json" || { diff "$W/ri.json" "$W/li.json" >&2; return 1; }
	cmp "$W/ri.err" "$W/li.err"
}
step "a refused intermediate import --json: same report, stderr and exit" import_same

# remote_as TOKENFILE CMD...: remote with another admin token.
remote_as() {
	local tok=$1
	shift
	SUBCA_DATA=$T/nowhere SUBCA_SERVER=https://127.0.0.1:$PORT \
	SUBCA_TOKEN=$(cat "$tok") SUBCA_CACERT=$CA sc "$@"
}

prov_apikey() {
	remote provisioner add acme web --type apikey \
		--allow-dns '*.example.test' --max-days 30 \
		>"$W/web.key" 2>"$W/padd.err"
	has "$W/padd.err" 'provisioner "web" added to "acme". Its API key is shown only this once'
	[ "$(wc -l <"$W/web.key")" = 1 ] && grep -q '^subca_key_' "$W/web.key"
	lacks "$W/padd.err" "$(cat "$W/web.key")"
}
step "remote: provisioner add --type apikey prints the key once" prov_apikey

prov_sign() {
	openssl_genkey ec-p256 "$W/leaf.key"
	openssl req -new -key "$W/leaf.key" -subj "/CN=www.example.test" \
		-addext "subjectAltName=DNS:www.example.test" \
		-out "$W/leaf.csr" 2>/dev/null
	jq -Rs '{csr: .}' "$W/leaf.csr" >"$W/sign.json"
	curl -sS --fail-with-body --cacert "$CA" -o "$W/leaf-chain.pem" \
		-H "Authorization: Bearer $(cat "$W/web.key")" \
		-H 'Content-Type: application/json' \
		-H 'Accept: application/pem-certificate-chain' \
		--data-binary "@$W/sign.json" \
		"https://127.0.0.1:$PORT/a/acme/sign" ||
		{ cat "$W/leaf-chain.pem" >&2; return 1; }
	split_chain "$W/leaf-chain.pem" "$W/leaf.pem" "$W/leaf-cas.pem"
	openssl verify -x509_strict -CAfile "$W/root/root.crt" \
		-untrusted "$W/leaf-cas.pem" "$W/leaf.pem"
}
step "the remotely made API key signs a CSR on /a/acme/sign; openssl verifies" prov_sign

prov_jwk() {
	openssl_genkey ec-p256 "$W/jwk.key"
	openssl pkey -in "$W/jwk.key" -pubout -out "$W/jwk.pub" 2>/dev/null
	remote provisioner add acme ops --type jwk --jwk "$W/jwk.pub" \
		--allow-dns '*.ops.example.test' --key-types ec-p256 \
		--eku server >"$W/pjwk.out" 2>"$W/pjwk.err"
	[ ! -s "$W/pjwk.out" ]
	has "$W/pjwk.err" 'provisioner "ops" (jwk) added to "acme"'
}
step "remote: provisioner add --type jwk --jwk PEM" prov_jwk
step "provisioner list --json: remote == local" same provisioner list acme --json
step "provisioner list (text): remote == local" same provisioner list acme

prov_remove() {
	remote provisioner remove acme web 2>"$W/prm.err"
	has "$W/prm.err" 'provisioner "web" removed from "acme"'
	local_sc provisioner list acme >"$W/after.txt"
	lacks "$W/after.txt" "web "
	has "$W/after.txt" "ops "
	local code
	code=$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' \
		-H "Authorization: Bearer $(cat "$W/web.key")" \
		-H 'Content-Type: application/json' \
		--data-binary "@$W/sign.json" "https://127.0.0.1:$PORT/a/acme/sign")
	[ "$code" = 401 ] || { log "sign after remove: $code"; return 1; }
}
step "remote: provisioner remove; its key no longer signs" prov_remove
step "remote: removing it again is NOT_FOUND (exit 5)" \
	expect_fail NOT_FOUND 5 "web" -- remote provisioner remove acme web
step "remote: provisioner add to a missing authority is NOT_FOUND" \
	expect_fail NOT_FOUND 5 'no authority named "nope"' -- \
	remote provisioner add nope x --type apikey --allow-any-name
step "remote: a provisioner without names is a usage error, as locally" \
	expect_fail USAGE 64 "say which names" -- \
	remote provisioner add acme x --type apikey

scoped() {
	remote admin token create --authorities acme --expires 1d \
		--description "acme only" >"$W/scoped.tok" 2>"$W/tok.err"
	[ "$(wc -l <"$W/scoped.tok")" = 1 ] && grep -q '^subca_adm_' "$W/scoped.tok"
	has "$W/tok.err" "created (authorities acme). It is shown only this once"
	lacks "$W/tok.err" "$(cat "$W/scoped.tok")"
	remote_as "$W/scoped.tok" authority show acme >"$W/scoped-show.txt"
	has "$W/scoped-show.txt" "state:         active"
	local_sc admin token list --json >"$W/tokens.json"
	jq -e 'map(select(.description == "acme only" and .authorities == ["acme"]
		and .status == "active" and .expires != null)) | length == 1' \
		"$W/tokens.json" >/dev/null
}
step "remote: admin token create --authorities acme; it shows acme" scoped
step "the scoped token gets 404 (NOT_FOUND) for another authority" \
	expect_fail NOT_FOUND 5 'no authority named "other"' -- \
	remote_as "$W/scoped.tok" authority show other
step "the scoped token cannot make tokens (global only)" \
	expect_fail POLICY 4 "only a global admin credential" -- \
	remote_as "$W/scoped.tok" admin token create
step "the scoped token cannot see or set unattended rotation (global only)" \
	expect_fail POLICY 4 "only a global admin credential" -- \
	remote_as "$W/scoped.tok" authority rotation acme --off
step "remote: a token scoped to a missing authority is NOT_FOUND, as locally" \
	expect_fail NOT_FOUND 5 'no authority named "nope"' -- \
	remote admin token create --authorities nope
step "not found: exit 5 remotely as locally" \
	expect_fail NOT_FOUND 5 'no authority named "nope"' -- remote authority show nope
step "audit works remotely" remote audit acme --limit 5
step "a wrong token: exit 3" \
	expect_fail AUTH 3 "admin token" -- \
	env SUBCA_DATA="$T/nowhere" SUBCA_SERVER="https://127.0.0.1:$PORT" \
	SUBCA_TOKEN=subca_adm_wrongwrongwrong SUBCA_CACERT="$CA" \
	"$SUBCA" authority list
no_token_leak() {
	! grep -q "wrongwrongwrong" "$T/xf.err" "$T/xf.out"
}
step "the token is never printed" no_token_leak
step "an http:// server is refused" \
	expect_fail INVALID_ARGUMENT 2 "https://" -- \
	"$SUBCA" --server "http://127.0.0.1:$PORT" --token x authority list
step "a server whose certificate does not verify: IO" \
	expect_fail IO 10 -- env -u SUBCA_CACERT \
	"$SUBCA" --server "https://127.0.0.1:$PORT" --token x authority list
step "a local-only command with --server is a usage error" \
	expect_fail USAGE 64 "runs only locally" -- \
	"$SUBCA" --server "https://127.0.0.1:$PORT" init

# ---------------------------------------- issue, token list/revoke, revoke

issue_csr() {
	openssl_genkey ec-p256 "$W/op.key"
	openssl req -new -key "$W/op.key" -subj "/CN=op.example.test" \
		-out "$W/op.csr" 2>/dev/null
	openssl req -in "$W/op.csr" -outform DER -out "$W/op.der"
	remote issue acme --csr "$W/op.der" --san DNS:alt.example.test \
		--days 30 --out "$W/op-remote.pem"
	local_sc issue acme --csr "$W/op.der" --san DNS:alt.example.test \
		--days 30 --out "$W/op-local.pem"
	local f
	for f in remote local; do
		[ "$(pem_count "$W/op-$f.pem")" = 2 ]
		split_chain "$W/op-$f.pem" "$W/op-$f.crt" "$W/op-$f-int.pem"
		openssl verify -x509_strict -CAfile "$W/root/root.crt" \
			-untrusted "$W/op-$f-int.pem" "$W/op-$f.crt"
		openssl x509 -in "$W/op-$f.crt" -noout -subject \
			-ext subjectAltName,extendedKeyUsage >"$W/op-$f.txt"
		# the same days: the same lifetime
		echo $(( $(date -d "$(openssl x509 -in "$W/op-$f.crt" -noout -enddate | cut -d= -f2)" +%s) -
			$(date -d "$(openssl x509 -in "$W/op-$f.crt" -noout -startdate | cut -d= -f2)" +%s) )) >>"$W/op-$f.txt"
	done
	cmp "$W/op-remote-int.pem" "$W/op-local-int.pem"
	cmp "$W/op-remote.txt" "$W/op-local.txt"
	has "$W/op-remote.txt" "DNS:alt.example.test"
	# to stdout without --out, as locally
	remote issue acme --csr "$W/op.csr" >"$W/op-stdout.pem"
	[ "$(pem_count "$W/op-stdout.pem")" = 2 ]
}
step "remote issue --csr (DER too) gives what local issue gives; openssl verifies" issue_csr

issue_cn() {
	remote issue acme --cn svc.example.test --san DNS:svc.example.test \
		--key ec-p384 --eku client --out-key "$W/svc.key" \
		--out-cert "$W/svc.pem" 2>"$W/svc.err"
	has "$W/svc.err" "issued; certificate chain in $W/svc.pem, key in $W/svc.key (mode 0600)"
	[ "$(stat -c %a "$W/svc.key")" = 600 ]
	split_chain "$W/svc.pem" "$W/svc.crt" "$W/svc-int.pem"
	openssl verify -x509_strict -CAfile "$W/root/root.crt" \
		-untrusted "$W/svc-int.pem" "$W/svc.crt"
	# the key made here matches the certificate made there
	[ "$(openssl x509 -in "$W/svc.crt" -noout -pubkey)" = \
	  "$(openssl pkey -in "$W/svc.key" -pubout)" ]
	cert_text "$W/svc.crt" >"$W/svc.txt"
	has "$W/svc.txt" "TLS Web Client Authentication"
	lacks "$W/svc.txt" "TLS Web Server Authentication"
	# the private key never reached the server or its log
	lacks "$T/serve.log" "PRIVATE"
}
step "remote issue --cn: the key is made and kept here, only its public key sent" issue_cn
step "remote issue from a missing authority: NOT_FOUND, as locally" \
	expect_fail NOT_FOUND 5 'no authority named "nope"' -- \
	remote issue nope --csr "$W/op.csr"
step "remote issue on an authority without intermediate: NOT_ACTIVE (6)" \
	expect_fail NOT_ACTIVE 6 -- remote issue other --csr "$W/op.csr"
step "the acme-scoped token issues from acme" \
	remote_as "$W/scoped.tok" issue acme --csr "$W/op.csr" --out "$W/op-scoped.pem"
step "the acme-scoped token cannot issue from other (404)" \
	expect_fail NOT_FOUND 5 'no authority named "other"' -- \
	remote_as "$W/scoped.tok" issue other --csr "$W/op.csr"

step "admin token list --json: remote == local" same admin token list --json
step "admin token list (text): remote == local" same admin token list
step "the scoped token cannot list tokens (global only)" \
	expect_fail POLICY 4 "only a global admin credential" -- \
	remote_as "$W/scoped.tok" admin token list

token_revoke() {
	local id
	remote admin token create --description "to revoke" >"$W/doomed.tok" 2>/dev/null
	id=$(local_sc admin token list --json |
		jq -r 'map(select(.description == "to revoke"))[0].id')
	remote_as "$W/doomed.tok" authority list >/dev/null
	remote admin token revoke "$id" 2>"$W/trev.err"
	has "$W/trev.err" "admin token #$id revoked"
	expect_fail AUTH 3 "revoked" -- remote_as "$W/doomed.tok" authority list
	local_sc admin token list --json |
		jq -e "map(select(.id == $id and .status == \"revoked\")) | length == 1" >/dev/null
	# again: still revoked, the first time kept
	local_sc admin token list --json | jq -r ".[] | select(.id == $id) | .revoked" >"$W/t1"
	remote admin token revoke "$id" 2>/dev/null
	local_sc admin token list --json | jq -r ".[] | select(.id == $id) | .revoked" >"$W/t2"
	cmp "$W/t1" "$W/t2"
	expect_fail NOT_FOUND 5 "no admin token with id 99999" -- remote admin token revoke 99999
	expect_fail NOT_FOUND 5 "no admin token with id 99999" -- local_sc admin token revoke 99999
	expect_fail POLICY 4 "only a global admin credential" -- \
		remote_as "$W/scoped.tok" admin token revoke "$id"
}
step "remote admin token revoke: the token stops working; again keeps the time; scoped refused" token_revoke

revoke() {
	local serial
	serial=$(openssl x509 -in "$W/op-remote.crt" -noout -serial | cut -d= -f2)
	remote revoke acme "$serial" --reason keyCompromise >"$W/rv1.out"
	grep "^certificate $(echo "$serial" | tr A-F a-f | sed 's/^0*//') revoked at .* (keyCompromise)$" \
		"$W/rv1.out" >/dev/null
	# again, remotely and locally, with another reason: the first stands
	remote revoke acme "$serial" --reason superseded >"$W/rv2.out"
	local_sc revoke acme "$serial" --reason superseded >"$W/rv3.out"
	cmp "$W/rv2.out" "$W/rv3.out"
	has "$W/rv2.out" "was already revoked at"
	has "$W/rv2.out" "(keyCompromise); the first revocation stands"
	remote revoke acme "$serial" --json >"$W/rv2.json"
	local_sc revoke acme "$serial" --json >"$W/rv3.json"
	cmp "$W/rv2.json" "$W/rv3.json"
	jq -e '.already_revoked == true and .reason == "keyCompromise"' "$W/rv2.json" >/dev/null
	local_sc issue acme --csr "$W/op.csr" --out "$W/op2.pem"
	serial=$(openssl x509 -in "$W/op2.pem" -noout -serial | cut -d= -f2)
	local_sc revoke acme "$serial" >"$W/rv4.out"
	has "$W/rv4.out" "revoked at"
	has "$W/rv4.out" "(unspecified)"
	echo "$serial" >"$W/op2.serial"
}
step "revoke (remote and local): reason kept on a repeat, said in the output" revoke

revoke_refusals() {
	local rrc=0 lrc=0
	expect_fail INVALID_ARGUMENT 2 "unknown revocation reason" -- \
		remote revoke acme 01 --reason nonsense
	cp "$T/xf.err" "$W/rr.err"
	expect_fail INVALID_ARGUMENT 2 "unknown revocation reason" -- \
		local_sc revoke acme 01 --reason nonsense
	cmp "$W/rr.err" "$T/xf.err"
	expect_fail NOT_FOUND 5 'authority "acme" has no certificate with serial abc123' -- \
		remote revoke acme 00:AB:C1:23
	cp "$T/xf.err" "$W/rr.err"
	expect_fail NOT_FOUND 5 'authority "acme" has no certificate with serial abc123' -- \
		local_sc revoke acme 00:AB:C1:23
	cmp "$W/rr.err" "$T/xf.err"
	expect_fail NOT_FOUND 5 "no certificate with such a serial" -- \
		remote revoke acme zz
	expect_fail USAGE 64 "AUTHORITY SERIAL" -- remote revoke acme
	expect_fail NOT_FOUND 5 'no authority named "other"' -- \
		remote_as "$W/scoped.tok" revoke other 01
	remote_as "$W/scoped.tok" revoke acme "$(cat "$W/op2.serial")" >"$W/rv5.out"
	has "$W/rv5.out" "already revoked"
}
step "revoke refusals: same code, reason and exit remotely and locally; scoped token" revoke_refusals

stop() {
	kill -TERM "$(cat "$T/serve.pid")"
	local i
	for i in $(seq 1 100); do
		kill -0 "$(cat "$T/serve.pid")" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
step "server stops" stop
finish
