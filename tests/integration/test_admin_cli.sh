#!/bin/bash
# Admin tokens and provisioners from the command line: secrets shown once
# and never again, only hashes stored, every change audited, bad input
# refused with the right code.
. "$SUBCA_TEST_LIB"

D=$SUBCA_DATA
W=$T/w
mkdir -p "$W"
: >"$T/later"

db() { sqlite3 "$D/subca.db" "$1"; }
audit_count() { db 'SELECT count(*) FROM audit_log'; }

# audited ACTION CMD...: CMD succeeds and adds exactly one audit row, ACTION.
audited() {
	local action=$1 before after last
	shift
	before=$(audit_count)
	"$@"
	after=$(audit_count)
	[ "$after" = $((before + 1)) ] ||
		{ log "audit_log went from $before to $after rows"; return 1; }
	last=$(db 'SELECT action FROM audit_log ORDER BY id DESC LIMIT 1')
	[ "$last" = "$action" ] || { log "last audit action is $last"; return 1; }
}

# not_audited CMD...: CMD fails and leaves the audit log as it was.
not_audited() {
	local before
	before=$(audit_count)
	"$@"
	[ "$(audit_count)" = "$before" ] || { log "a refused command was audited"; return 1; }
}

sha256() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }

# nowhere SECRET: the secret is in no file of the data directory (the
# database, its write-ahead log) and in no later output of subca.
nowhere() {
	! grep -rqF -- "$1" "$D" || { log "the secret is stored in $D"; return 1; }
	! grep -qF -- "$1" "$T/later" || { log "the secret was shown again"; return 1; }
}

step "init" sc init
step "authority acme (generated root)" sc authority create acme --generate-root
step "authority beta" sc authority create beta

# ------------------------------------------------------------ admin tokens

create_token() {
	sc admin token create --authorities acme,beta --expires 90d \
		--description "ci bot" >"$W/tok1" 2>"$W/tok1.err"
	grep -qE '^subca_adm_[A-Za-z0-9_-]{43}$' "$W/tok1" ||
		{ log "stdout is not one token: $(cat "$W/tok1")"; return 1; }
	[ "$(wc -l <"$W/tok1")" = 1 ]
	has "$W/tok1.err" "shown only this once"
	lacks "$W/tok1.err" "subca_adm_"
}
step "admin token create prints the token once on stdout, a reminder on stderr" \
	audited admin_token.create create_token
TOK1=$(cat "$W/tok1")

stored_hash() {
	[ "$(db 'SELECT hash FROM admin_tokens WHERE id = 1')" = "$(sha256 "$TOK1")" ]
	[ "$(db 'SELECT scope FROM admin_tokens WHERE id = 1')" = "acme,beta" ]
	[ -n "$(db 'SELECT expires FROM admin_tokens WHERE id = 1')" ]
}
step "the database keeps the token's SHA-256, its scope and expiry" stored_hash

global_token() {
	sc admin token create >"$W/tok2"
	grep -qE '^subca_adm_' "$W/tok2"
	[ "$(db 'SELECT scope IS NULL AND expires IS NULL FROM admin_tokens WHERE id = 2')" = 1 ]
}
step "admin token create without options makes a global token that never expires" global_token
step "two tokens differ" bash -c '! cmp -s "$0" "$1"' "$W/tok1" "$W/tok2"

list_tokens() {
	sc admin token list >"$W/list.txt"
	sc admin token list --json >"$W/list.json"
	cat "$W/list.txt" "$W/list.json" >>"$T/later"
	has "$W/list.txt" "ci bot"
	has "$W/list.txt" "acme,beta"
	"$PY" - "$W/list.json" <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))
assert [t["id"] for t in l] == [1, 2], l
assert l[0]["authorities"] == ["acme", "beta"], l[0]
assert l[0]["status"] == "active" and l[0]["expires"], l[0]
assert l[1]["authorities"] is None and l[1]["expires"] is None, l[1]
assert all("hash" not in t for t in l), l
EOF
}
step "admin token list shows scope, status and expiry (text and JSON)" list_tokens
step "the token is stored nowhere and never shown again" nowhere "$TOK1"

revoke_token() {
	sc admin token revoke 1
	[ "$(db 'SELECT revoked IS NOT NULL FROM admin_tokens WHERE id = 1')" = 1 ]
	sc admin token list --json | "$PY" -c '
import json, sys
l = json.load(sys.stdin)
assert l[0]["status"] == "revoked" and l[0]["revoked"], l[0]
assert l[1]["status"] == "active", l[1]'
}
step "admin token revoke marks it revoked" audited admin_token.revoke revoke_token
step "revoking an unknown token: NOT_FOUND (5)" \
	not_audited expect_fail NOT_FOUND 5 "no admin token with id 99" -- sc admin token revoke 99
step "revoke needs a numeric ID: USAGE (64)" \
	expect_fail USAGE 64 "positive number" -- sc admin token revoke abc

step "a scope naming an unknown authority: NOT_FOUND (5)" \
	not_audited expect_fail NOT_FOUND 5 'no authority named "nope"' -- \
	sc admin token create --authorities acme,nope
step "a scope naming one authority twice: USAGE (64)" \
	expect_fail USAGE 64 'names "acme" twice' -- sc admin token create --authorities acme,acme
step "an empty scope entry: USAGE (64)" \
	expect_fail USAGE 64 "empty name" -- sc admin token create --authorities acme,,beta
step "a malformed --expires: USAGE (64)" \
	expect_fail USAGE 64 "--expires" "like 90d" -- sc admin token create --expires 90x
step "--expires 0d: USAGE (64)" \
	expect_fail USAGE 64 "longer than zero" -- sc admin token create --expires 0d
step "--expires at the cap (3660d) is accepted" sc admin token create --expires 3660d
step "--expires one past the cap (3661d): USAGE (64)" \
	expect_fail USAGE 64 "maximum of 3660 days" -- sc admin token create --expires 3661d
d256=$(printf 'd%.0s' $(seq 1 256))
step "a 256-character description is accepted" sc admin token create --description "$d256"
step "a 257-character description: USAGE (64)" \
	expect_fail USAGE 64 "longer than 256" -- sc admin token create --description "x$d256"
step "an unknown sub-command: USAGE (64)" \
	expect_fail USAGE 64 "create, list or revoke" -- sc admin token rotate

# ------------------------------------------------------------ provisioners

add_apikey() {
	sc provisioner add acme ci --type apikey --allow-dns '*.example.com' \
		--allow-ip 10.0.0.0/8 --default-days 7 --max-days 30 \
		--key-types ec-p256,rsa-2048 --eku server >"$W/key" 2>"$W/key.err"
	grep -qE '^subca_key_[A-Za-z0-9_-]{43}$' "$W/key" ||
		{ log "stdout is not one API key: $(cat "$W/key")"; return 1; }
	has "$W/key.err" "shown only this once"
	lacks "$W/key.err" "subca_key_"
}
step "provisioner add --type apikey prints the key once" \
	audited provisioner.add add_apikey
KEY=$(cat "$W/key")

apikey_stored() {
	[ "$(db "SELECT key_hash FROM provisioners WHERE name = 'ci'")" = "$(sha256 "$KEY")" ]
	db "SELECT policy FROM provisioners WHERE name = 'ci'" >"$W/policy.json"
	"$PY" - "$W/policy.json" <<'EOF'
import json, sys
p = json.load(open(sys.argv[1]))
assert p == {"version": 1, "dns": ["*.example.com"], "ips": ["10.0.0.0/8"],
             "default_days": 7, "max_days": 30,
             "key_types": ["ec-p256", "rsa-2048"], "ekus": ["server"]}, p
EOF
}
step "the database keeps the API key's hash and the policy as JSON" apikey_stored

jwk_from_pem() {
	local kt=$1 name=$2
	openssl_genkey "$kt" "$W/$name.key"
	openssl pkey -in "$W/$name.key" -pubout -out "$W/$name.pub" 2>/dev/null
	sc provisioner add acme "$name" --type jwk --jwk "$W/$name.pub" \
		--allow-any-name >"$W/$name.out"
	[ ! -s "$W/$name.out" ] || { log "jwk add printed a secret?"; return 1; }
	db "SELECT jwk_json FROM provisioners WHERE name = '$name'" >"$W/$name.jwk"
	# the stored JWK is the same public key (RFC 7517, RFC 7518 6, RFC 8037)
	"$PY" - "$W/$name.jwk" "$W/$name.pub" <<'EOF'
import base64, json, sys
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
j = json.load(open(sys.argv[1]))
b = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
assert not any(k in j for k in ("d", "p", "q")), j
if j["kty"] == "EC":
    curve = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}[j["crv"]]
    size = {"P-256": 32, "P-384": 48}[j["crv"]]
    assert len(b(j["x"])) == size and len(b(j["y"])) == size, j
    k = ec.EllipticCurvePublicNumbers(int.from_bytes(b(j["x"]), "big"),
        int.from_bytes(b(j["y"]), "big"), curve).public_key()
elif j["kty"] == "RSA":
    k = rsa.RSAPublicNumbers(int.from_bytes(b(j["e"]), "big"),
        int.from_bytes(b(j["n"]), "big")).public_key()
else:
    assert j["crv"] == "Ed25519", j
    k = ed25519.Ed25519PublicKey.from_public_bytes(b(j["x"]))
pem = k.public_bytes(serialization.Encoding.PEM,
                     serialization.PublicFormat.SubjectPublicKeyInfo)
assert pem == open(sys.argv[2], "rb").read(), "different key"
EOF
}
for kt in ec-p256 ec-p384 ed25519 rsa-2048; do
	step "provisioner add --type jwk converts a $kt PEM public key to a JWK" \
		audited provisioner.add jwk_from_pem "$kt" "jwk-$kt"
done

jwk_from_json() {
	cat >"$W/given.jwk" <<'EOF'
{"kty":"EC","crv":"P-256","kid":"laptop",
 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}
EOF
	sc provisioner add beta laptop --type jwk --jwk "$W/given.jwk" \
		--allow-email @example.com
	[ "$(db "SELECT jwk_json FROM provisioners WHERE name = 'laptop'")" = \
		'{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}' ]
}
step "provisioner add --type jwk keeps the public members of a JWK file" \
	audited provisioner.add jwk_from_json

list_provisioners() {
	sc provisioner list acme >"$W/plist.txt"
	sc provisioner list acme --json >"$W/plist.json"
	cat "$W/plist.txt" "$W/plist.json" >>"$T/later"
	has "$W/plist.txt" "ci"
	has "$W/plist.txt" "jwk-ed25519"
	"$PY" - "$W/plist.json" <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))
names = [p["name"] for p in l]
assert names == sorted(names) and "ci" in names and len(l) == 5, names
ci = [p for p in l if p["name"] == "ci"][0]
assert ci["type"] == "apikey" and "jwk" not in ci, ci
assert ci["policy"]["max_days"] == 30, ci
assert all("key_hash" not in p for p in l), l
assert [p for p in l if p["name"] == "jwk-ec-p256"][0]["jwk"]["kty"] == "EC"
EOF
	sc provisioner list beta --json | "$PY" -c '
import json, sys
l = json.load(sys.stdin)
assert [p["name"] for p in l] == ["laptop"], l'
}
step "provisioner list shows each authority's own (text and JSON)" list_provisioners
step "the API key is stored nowhere and never shown again" nowhere "$KEY"

step "a duplicate provisioner name: EXISTS (6)" \
	not_audited expect_fail EXISTS 6 'provisioner "ci" already exists' -- \
	sc provisioner add acme ci --type apikey --allow-any-name
step "the same name in another authority is allowed" \
	sc provisioner add beta ci --type apikey --allow-any-name
step "an unknown authority: NOT_FOUND (5)" \
	not_audited expect_fail NOT_FOUND 5 'no authority named "nope"' -- \
	sc provisioner add nope x --type apikey --allow-any-name
step "a bad key type list: UNSUPPORTED_KEY (2)" \
	not_audited expect_fail UNSUPPORTED_KEY 2 'unknown key type "ec-p999"' -- \
	sc provisioner add acme x --type apikey --allow-any-name --key-types ec-p256,ec-p999
step "an empty key type entry: USAGE (64)" \
	expect_fail USAGE 64 "empty value" -- \
	sc provisioner add acme x --type apikey --allow-any-name --key-types ec-p256,
step "an unknown EKU: INVALID_ARGUMENT (2)" \
	expect_fail INVALID_ARGUMENT 2 "server or client" -- \
	sc provisioner add acme x --type apikey --allow-any-name --eku code
step "no name rule at all: USAGE (64)" \
	expect_fail USAGE 64 "--allow-any-name" -- sc provisioner add acme x --type apikey
off_curve_jwk() {
	# the RFC 7515 A.3 key with its y coordinate altered: not on P-256
	cat >"$W/off.jwk" <<'EOF'
{"kty":"EC","crv":"P-256",
 "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
 "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4"}
EOF
	expect_fail BAD_JWK 2 "not on the P-256 curve" -- \
		sc provisioner add beta offcurve --type jwk --jwk "$W/off.jwk" \
		--allow-any-name
}
step "a JWK whose point is not on its curve: BAD_JWK (2)" \
	not_audited off_curve_jwk
step "a malformed DNS pattern: INVALID_ARGUMENT (2)" \
	expect_fail INVALID_ARGUMENT 2 "bad..name" -- \
	sc provisioner add acme x --type apikey --allow-dns bad..name
step "default days over max days: INVALID_ARGUMENT (2)" \
	expect_fail INVALID_ARGUMENT 2 "over max-days" -- \
	sc provisioner add acme x --type apikey --allow-any-name --default-days 40 --max-days 30
step "--max-days at the leaf cap (3660) is accepted" \
	sc provisioner add acme maxed --type apikey --allow-any-name --max-days 3660
step "--max-days one past the leaf cap: USAGE (64)" \
	expect_fail USAGE 64 "from 1 to 3660" -- \
	sc provisioner add acme x --type apikey --allow-any-name --max-days 3661
step "--type oidc: USAGE (64)" \
	expect_fail USAGE 64 "jwk, apikey or acme" -- sc provisioner add acme x --type oidc --allow-any-name
step "--type jwk without --jwk: USAGE (64)" \
	expect_fail USAGE 64 "needs --jwk" -- sc provisioner add acme x --type jwk --allow-any-name
step "--jwk with a private key: PRIVATE_KEY (2)" \
	not_audited expect_fail PRIVATE_KEY 2 "public key" -- \
	sc provisioner add acme x --type jwk --jwk "$W/jwk-ec-p256.key" --allow-any-name
step "--jwk with a private JWK: PRIVATE_KEY (2)" \
	expect_fail PRIVATE_KEY 2 'member "d"' -- bash -c '
printf "%s" "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"a\",\"y\":\"b\",\"d\":\"c\"}" >"$0/priv.jwk"
exec "$SUBCA" provisioner add acme x --type jwk --jwk "$0/priv.jwk" --allow-any-name' "$W"
step "--jwk with garbage: GARBAGE (2)" \
	expect_fail GARBAGE 2 "neither a JWK" -- bash -c '
echo hello >"$0/garbage"
exec "$SUBCA" provisioner add acme x --type jwk --jwk "$0/garbage" --allow-any-name' "$W"
step "--jwk with a P-521 key: UNSUPPORTED_KEY (2)" \
	expect_fail UNSUPPORTED_KEY 2 -- bash -c '
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 2>/dev/null |
	openssl pkey -pubout -out "$0/p521.pub"
exec "$SUBCA" provisioner add acme x --type jwk --jwk "$0/p521.pub" --allow-any-name' "$W"
step "a bad provisioner name: BAD_NAME (2)" \
	expect_fail BAD_NAME 2 -- sc provisioner add acme Bad_Name --type apikey --allow-any-name

remove_one() {
	sc provisioner remove acme jwk-ed25519
	[ "$(db "SELECT count(*) FROM provisioners WHERE name = 'jwk-ed25519'")" = 0 ]
}
step "provisioner remove deletes it" audited provisioner.remove remove_one
step "removing it again: NOT_FOUND (5)" \
	not_audited expect_fail NOT_FOUND 5 'no provisioner "jwk-ed25519"' -- \
	sc provisioner remove acme jwk-ed25519
step "removing from an unknown authority: NOT_FOUND (5)" \
	expect_fail NOT_FOUND 5 -- sc provisioner remove nope ci

step "the store passes SQLite's integrity check" \
	bash -c '[ "$(sqlite3 "$0" "PRAGMA integrity_check")" = ok ]' "$D/subca.db"
step "no secret ever reached the transcript twice" \
	bash -c '[ "$(grep -c -- "$1" "$0")" = 1 ] && [ "$(grep -c -- "$2" "$0")" = 1 ]' \
	"$T/transcript" "$TOK1" "$KEY"

finish
