#!/bin/bash
# The data directory, key store modes, authority names and states, issuing,
# the database and its audit log, seen from the command line.
. "$SUBCA_TEST_LIB"

D=$SUBCA_DATA
R=$T/root
W=$T/w
mkdir -p "$W"

mode_is() {
	local m
	m=$(stat -c %a "$1")
	[ "$m" = "$2" ] || { log "$1 has mode $m, want $2"; return 1; }
}
audit_count() { sqlite3 "$D/subca.db" 'SELECT count(*) FROM audit_log'; }

# audited CMD...: CMD succeeds and adds exactly one audit_log row.
audited() {
	local before after
	before=$(audit_count)
	"$@"
	after=$(audit_count)
	[ "$after" = $((before + 1)) ] ||
		{ log "audit_log went from $before to $after rows"; return 1; }
}

# ------------------------------------------------------------ init

init_dev() {
	sc init 2>"$T/init.err"
	cat "$T/init.err" >&2
	has "$T/init.err" "subca: warning ["
}
step "init in development mode warns on stderr" init_dev
step "data dir is 0700" mode_is "$D" 700
step "subca.db is 0600" mode_is "$D/subca.db" 600
step "master.key is 0600" mode_is "$D/master.key" 600
second_init() {
	local before
	before=$(sha256sum <"$D/master.key")
	sc init || true
	[ "$(sha256sum <"$D/master.key")" = "$before" ] ||
		{ log "a second init replaced master.key"; return 1; }
}
step "a second init leaves master.key alone" second_init

# ------------------------------------------------------------ names

step "refuses name Bad_Name: BAD_NAME (2)" expect_fail BAD_NAME 2 -- sc authority create Bad_Name
step "refuses upper-case name Upper: BAD_NAME (2)" expect_fail BAD_NAME 2 -- sc authority create Upper
# After "--" so that the name, not the option parser, is judged.
step "refuses name -x: BAD_NAME (2)" expect_fail BAD_NAME 2 -- sc authority create -- -x
n64=$(printf 'a%.0s' $(seq 1 64))
step "refuses a 64-character name: BAD_NAME (2)" expect_fail BAD_NAME 2 -- sc authority create "$n64"
step "accepts a 63-character name" sc authority create "${n64:1}"
step "refuses subdomain Bad_Sub: BAD_NAME (2)" \
	expect_fail BAD_NAME 2 -- sc authority create good --subdomain Bad_Sub

# ------------------------------------------------------------ states

step "authority create life (audited)" audited sc authority create life --subdomain life-ca
step "refuses a duplicate name: EXISTS (6)" expect_fail EXISTS 6 -- sc authority create life
step "state needs-root" authority_is life needs-root
step "intermediate request before a root: wrong state (6)" \
	expect_fail "*" 6 -- sc intermediate request life --cn x
step "issue before active: NOT_ACTIVE (6)" \
	expect_fail NOT_ACTIVE 6 -- sc issue life --cn a.example --san DNS:a.example \
	--out-key "$W/x.key" --out-cert "$W/x.pem"
step "root made (openssl, rsa-2048)" gen_root openssl rsa-2048 "$R"
step "root import (audited)" audited sc root import life "$R/root.crt"
step "state needs-intermediate" authority_is life needs-intermediate
step "intermediate request (audited)" audited sc intermediate request life \
	--cn "Life Intermediate" --org "subca tests" --key ec-p384 --path-len 0 \
	--out "$W/life.csr"
step "state pending" authority_is life pending
step "intermediate csr prints the same CSR" eval \
	'sc intermediate csr life >"$W/again.csr" && cmp "$W/life.csr" "$W/again.csr"'

# A request made by mistake (or superseded) is discarded with its key.
discard_superseded() {
	local before
	before=$(ls "$D"/keys | wc -l)
	sc intermediate request life --cn "Life Mistake" --out "$W/mistake.csr" 2>"$W/mistake.err"
	has "$W/mistake.err" 'Note: 1 earlier pending request of "life" still holds a key'
	[ "$(ls "$D"/keys | wc -l)" = $((before + 1)) ]
	sc intermediate discard life 2>"$W/discard.err"
	has "$W/discard.err" "discarded; its key is destroyed"
	[ "$(ls "$D"/keys | wc -l)" = "$before" ]
	# the first request is the pending one again
	sc intermediate csr life >"$W/again2.csr"
	cmp "$W/life.csr" "$W/again2.csr"
	sc audit life >"$W/audit.txt"
	has "$W/audit.txt" "intermediate.discard"
	has "$W/audit.txt" "Life Mistake"
}
step "intermediate discard: the newest request and its key file go, the first is pending again" \
	discard_superseded
step "intermediate discard --id of an unknown id: NOT_FOUND (5)" \
	expect_fail NOT_FOUND 5 "has no intermediate 999" -- sc intermediate discard life --id 999
step "intermediate discard --id 0: usage (64)" \
	expect_fail USAGE 64 -- sc intermediate discard life --id 0

all_instructions() {
	local t
	for t in openssl openssl-ca cfssl certtool step vault adcs aws-pca subca; do
		sc intermediate instructions life --tool "$t" >"$W/instr-$t.sh"
		[ -s "$W/instr-$t.sh" ] || { log "no instructions for $t"; return 1; }
		sh -n "$W/instr-$t.sh" || { log "$t: not a shell script"; return 1; }
		tail -n 1 "$W/instr-$t.sh" | grep "subca intermediate import life" >/dev/null ||
			{ log "$t: last line is not the import"; return 1; }
	done
}
step "instructions for every tool: shell scripts ending with the import" all_instructions
step "instructions --tool bogus: INVALID_ARGUMENT (2)" \
	expect_fail INVALID_ARGUMENT 2 -- sc intermediate instructions life --tool bogus

keys_0600() {
	local f n=0
	for f in "$D"/keys/*.key; do
		[ -e "$f" ] || continue
		mode_is "$f" 600
		n=$((n + 1))
	done
	[ "$n" -ge 1 ] || { log "no keys/*.key files"; return 1; }
}
step "keys/*.key are 0600" keys_0600

step "root signs the intermediate (python)" "$PY" "$TOOLS/sign_intermediate.py" \
	--root-cert "$R/root.crt" --root-key "$R/root.key" --csr "$W/life.csr" \
	--path-len 0 --days 365 --out "$W/life.crt"
step "intermediate import (audited)" audited sc intermediate import life "$W/life.crt"
step "state active" authority_is life active

# active_id NAME: the id of NAME's active intermediate
active_id() {
	sc intermediate list "$1" --json | "$PY" -c '
import json, sys
print([i["id"] for i in json.load(sys.stdin) if i["state"] == "active"][0])'
}
discard_refused() {
	expect_fail STATE 6 "is active: only a pending request" -- \
		sc intermediate discard life --id "$(active_id life)"
	expect_fail NO_PENDING 6 -- sc intermediate discard life
	authority_is life active
}
step "an active intermediate cannot be discarded: STATE (6); none pending: NO_PENDING (6)" discard_refused
step "intermediate list --json is valid JSON" eval \
	'sc intermediate list life --json >"$W/il.json" && "$PY" -m json.tool "$W/il.json" >/dev/null'

issue_cn() {
	sc issue life --cn www.life.example --san DNS:www.life.example \
		--san DNS:api.life.example --out-key "$W/leaf.key" --out-cert "$W/chain.pem" \
		>"$W/issue.out"
	mode_is "$W/leaf.key" 600
	has "$W/leaf.key" "PRIVATE KEY"
	split_chain "$W/chain.pem" "$W/leaf.pem" "$W/int.pem"
	verify_chain "$R/root.crt" "$W/int.pem" "$W/leaf.pem" "$W/leaf.key" api.life.example
}
step "issue --cn: key file 0600, chain verifies, TLS works" issue_cn

issue_key() {
	local k=$1
	sc issue life --cn "$k.life.example" --san "DNS:$k.life.example" --key "$k" \
		--days 10 --out-key "$W/$k.key" --out-cert "$W/$k-chain.pem"
	split_chain "$W/$k-chain.pem" "$W/$k-leaf.pem" "$W/$k-int.pem"
	verify_chain "$R/root.crt" "$W/$k-int.pem" "$W/$k-leaf.pem" "$W/$k.key" "$k.life.example"
}
for k in ec-p256 ec-p384 rsa-2048 rsa-3072 ed25519; do
	step "issue --key $k: chain verifies, TLS works" issue_key "$k"
done

issue_csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$W/csr.key" -subj "/CN=csr.life.example" \
		-addext "subjectAltName=DNS:csr.life.example" -out "$W/leaf.csr" 2>/dev/null
	sc issue life --csr "$W/leaf.csr" --days 30 --out "$W/csr-chain.pem"
	split_chain "$W/csr-chain.pem" "$W/csr-leaf.pem" "$W/csr-int.pem"
	# The certificate carries the CSR's key.
	cmp <(openssl x509 -in "$W/csr-leaf.pem" -noout -pubkey) \
		<(openssl pkey -in "$W/csr.key" -pubout)
	verify_chain "$R/root.crt" "$W/csr-int.pem" "$W/csr-leaf.pem" "$W/csr.key" csr.life.example
}
step "issue --csr with an openssl CSR: chain verifies, TLS works" issue_csr

# A generated root: active at once and issuing. The root certificate is
# found in the database (any column holding it as PEM or DER).
root_from_db() {
	"$PY" - "$D/subca.db" "$1" "$2" <<'EOF'
import sqlite3, sys
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
db = sqlite3.connect(sys.argv[1])
for row in db.execute("SELECT * FROM roots"):
    for v in row:
        for load in (x509.load_pem_x509_certificate, x509.load_der_x509_certificate):
            try:
                c = load(v.encode() if isinstance(v, str) else v)
            except Exception:
                continue
            if c.subject.rfc4514_string() == "CN=" + sys.argv[2]:
                open(sys.argv[3], "wb").write(c.public_bytes(Encoding.PEM))
                sys.exit(0)
sys.exit("no root with CN=%s in roots" % sys.argv[2])
EOF
}
generated() {
	sc authority create gen --generate-root --key ec-p256 \
		--root-cn "Generated Root" --days 365
	authority_is gen active
	sc issue gen --cn host.gen.example --san DNS:host.gen.example \
		--out-key "$W/gen.key" --out-cert "$W/gen-chain.pem"
	root_from_db "Generated Root" "$W/gen-root.pem"
	split_chain "$W/gen-chain.pem" "$W/gen-leaf.pem" "$W/gen-int.pem"
	verify_chain "$W/gen-root.pem" "$W/gen-int.pem" "$W/gen-leaf.pem" "$W/gen.key" host.gen.example
}
step "--generate-root: active at once, issues a verifiable leaf" generated

# ------------------------------------------------------------ listing, db

step "authority list --json is valid JSON naming life and gen" eval '
	sc authority list --json >"$W/list.json" &&
	"$PY" -m json.tool "$W/list.json" >/dev/null &&
	has "$W/list.json" "\"life\"" && has "$W/list.json" "\"gen\""'
step "authority show --json is valid JSON" eval '
	sc authority show life --json >"$W/show.json" &&
	"$PY" -m json.tool "$W/show.json" >/dev/null'
step "show of an unknown authority: NOT_FOUND (5)" \
	expect_fail NOT_FOUND 5 -- sc authority show nope
step "PRAGMA integrity_check says ok" eval \
	'[ "$(sqlite3 "$D/subca.db" "PRAGMA integrity_check")" = ok ]'
append_only() {
	local n
	n=$(audit_count)
	! sqlite3 "$D/subca.db" "UPDATE audit_log SET rowid = rowid" 2>/dev/null
	! sqlite3 "$D/subca.db" "DELETE FROM audit_log" 2>/dev/null
	[ "$(audit_count)" = "$n" ]
}
step "audit_log rows cannot be updated or deleted" append_only
step "audit lists the life events" eval '
	sc audit life >"$W/audit.txt" && [ "$(wc -l <"$W/audit.txt")" -ge 4 ] &&
	has "$W/audit.txt" life'
audit_json() {
	sc audit life --json >"$W/audit.json"
	"$PY" - "$W/audit.json" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
if isinstance(doc, dict):
    lists = [v for v in doc.values() if isinstance(v, list)]
    doc = lists[0] if lists else []
assert len(doc) >= 4, doc
EOF
}
step "audit --json is valid JSON with at least the four life events" audit_json

# ------------------------------------------------------------ passphrase mode

pdata() { SUBCA_DATA=$T/pdata "$@"; }
pass_init() {
	SUBCA_PASSPHRASE=correct-horse pdata sc init 2>"$W/pinit.err"
	lacks "$W/pinit.err" "warning ["
	[ ! -e "$T/pdata/master.key" ] || { log "master.key written in passphrase mode"; return 1; }
}
step "init with SUBCA_PASSPHRASE: no master.key, no warning" pass_init
step "generate-root authority with the passphrase" \
	env SUBCA_PASSPHRASE=correct-horse SUBCA_DATA="$T/pdata" \
	"$SUBCA" authority create p --generate-root --key ec-p256 --root-cn "P Root"
step "issue without the passphrase fails (exit 3)" \
	expect_fail "*" 3 -- pdata sc issue p --cn a.example --san DNS:a.example \
	--out-key "$W/p1.key" --out-cert "$W/p1.pem"
step "issue with a wrong passphrase fails (exit 3)" \
	expect_fail "*" 3 -- env SUBCA_PASSPHRASE=Zq-wr0ng-Secret SUBCA_DATA="$T/pdata" \
	"$SUBCA" issue p --cn a.example --san DNS:a.example \
	--out-key "$W/p2.key" --out-cert "$W/p2.pem"
step "and does not echo the wrong passphrase" lacks "$T/xf.err" "Zq-wr0ng-Secret"
printf 'correct-horse' >"$W/pass.txt"
step "issue with --passphrase-file works" pdata sc --passphrase-file "$W/pass.txt" \
	issue p --cn a.example --san DNS:a.example --out-key "$W/p3.key" --out-cert "$W/p3.pem"

# Last: nothing subca printed in this whole test held a private key.
step "no subca output contained PRIVATE KEY" lacks "$T/transcript" "PRIVATE KEY"

finish
