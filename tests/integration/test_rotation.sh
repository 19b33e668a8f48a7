#!/bin/bash
# Rotation of intermediates against a running `subca serve`:
# - by hand: the next intermediate imported with --activate-at a few
#   seconds ahead while 16 clients keep issuing through the sign API; no
#   request fails, leaves name the intermediate that signed them and those
#   of the retired one still verify; GET /chain follows the switch;
# - unattended: a signer hook running `openssl x509 -req` with a test root
#   rotates short-lived intermediates with no person involved;
# - a failing hook leaves the current intermediate active and raises the
#   log line and the metric; `subca intermediate rotate` runs the flow once.
#
# OpenSSL 3.0's `x509 -req` signs whole days only (-days), so the hook's
# intermediates live one day and "short-lived" is --rotate-before one day
# minus a few seconds: each intermediate is due a few seconds after it was
# signed, exactly as a minutes-long intermediate would be near its end.
. "$SUBCA_TEST_LIB"

W=$T/w
mkdir -p "$W"
cd "$W"
DB=$SUBCA_DATA/subca.db
NCLIENTS=16

# The customer's root and the hook that signs with it.
make_hook() {
	gen_root openssl ec-p256 "$W/root" "Rotation Test Root"
	cat >"$W/root/int.cnf" <<'EOF'
[v3_int]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
	# the hook gets a clean environment: everything it needs is spelt out
	cat >"$W/hook.sh" <<EOF
#!/bin/sh
# signer hook: CSR on stdin, signed certificate on stdout
set -e
d=\$(mktemp -d)
trap 'rm -rf "\$d"' EXIT
cat >"\$d/csr.pem"
echo "signing for \$SUBCA_AUTHORITY" >&2
openssl x509 -req -in "\$d/csr.pem" -CA "$W/root/root.crt" \\
	-CAkey "$W/root/root.key" -days 1 -sha256 \\
	-set_serial "0x\$(openssl rand -hex 16)" \\
	-extfile "$W/root/int.cnf" -extensions v3_int 2>"\$d/err" ||
	{ cat "\$d/err" >&2; exit 1; }
EOF
	chmod +x "$W/hook.sh"
}

setup() {
	sc init 2>/dev/null
	sc authority create server-tls --generate-root
	make_hook
	sc authority create corp
	sc root import corp "$W/root/root.crt"
	sc intermediate request corp --cn "Corp Issuing CA" --out "$W/c1.csr" 2>/dev/null
	"$W/hook.sh" <"$W/c1.csr" >"$W/c1.crt"
	sc intermediate import corp "$W/c1.crt"
	sc provisioner add corp svc --type apikey --allow-dns .example.test \
		--max-days 30 >"$W/apikey" 2>/dev/null
	grep -q '^subca_key_' "$W/apikey"
	sc admin token create >"$W/admin" 2>/dev/null
	sc admin token create --authorities corp >"$W/scoped" 2>/dev/null
}
step "a root, a one-day intermediate signed by the hook script, a provisioner" setup
APIKEY=$(cat "$W/apikey" 2>/dev/null || true)
ADMIN=$(cat "$W/admin" 2>/dev/null || true)
SCOPED=$(cat "$W/scoped" 2>/dev/null || true)

warn_short_life() {
	sc intermediate list corp >"$W/list.out" 2>"$W/list.err"
	has "$W/list.err" "warning [INTERMEDIATE_EXPIRING]"
	has "$W/list.err" '30-day leaf lifetime provisioner "svc" allows'
	sc authority show corp --json >"$W/show.json" 2>/dev/null
	has "$W/show.json" '"code": "INTERMEDIATE_EXPIRING"'
}
step "intermediate list / authority show warn: one day left < 30-day leaves" warn_short_life

PORT=$(free_port)
URL=https://127.0.0.1:$PORT
HPORT=$(free_port)
HURL=http://127.0.0.1:$HPORT
CA=$T/tls-root.pem

serve() {
	start_server "$T/serve.log" --listen "127.0.0.1:$PORT" --workers 4 \
		--tls-authority server-tls --tls-root-out "$CA" \
		--rotation-interval 1 --http-listen "127.0.0.1:$HPORT" \
		--public-url "$HURL" --crl-rebuild-delay 1
}
step "serve starts with a rotation check every second" serve

api() { # api METHOD PATH TOKEN [CURL ARGS...]: body $W/api.out, prints status
	local m=$1 p=$2 tok=$3
	shift 3
	curl -sS --cacert "$CA" -o "$W/api.out" -w '%{http_code}' -X "$m" \
		-H "Authorization: Bearer $tok" "$@" "$URL$p"
}

# ---------------------------------------------------------------- by hand

make_csrs() {
	local i
	for i in $(seq 1 $NCLIENTS); do
		openssl_genkey ec-p256 "$W/k$i.key"
		openssl req -new -key "$W/k$i.key" -subj "/CN=c$i.example.test" \
			-addext "subjectAltName=DNS:c$i.example.test" \
			-out "$W/k$i.csr" 2>/dev/null
		"$PY" -c 'import json,sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' \
			"$W/k$i.csr" >"$W/k$i.json"
	done
}
step "$NCLIENTS CSRs" make_csrs

# client N: sign again and again until $W/stop exists; every response in
# $W/load/N.M with its status in N.M.status.
client() {
	local n=$1 m=0
	while [ ! -e "$W/stop" ]; do
		m=$((m + 1))
		curl -sS --cacert "$CA" -o "$W/load/$n.$m" -w '%{http_code}' \
			-H "Authorization: Bearer $APIKEY" \
			-H 'Content-Type: application/json' \
			--data-binary "@$W/k$n.json" "$URL/a/corp/sign" \
			>"$W/load/$n.$m.status" 2>"$W/load/$n.$m.err" || true
	done
}

rotate_under_load() {
	local i
	mkdir -p "$W/load"
	rm -f "$W/stop"
	sc intermediate request corp --cn "Corp Issuing CA" --out "$W/c2.csr" 2>/dev/null
	"$W/hook.sh" <"$W/c2.csr" >"$W/c2.crt"
	for i in $(seq 1 $NCLIENTS); do client "$i" & done
	sleep 1
	sc intermediate import corp "$W/c2.crt" --activate-at +4s 2>"$W/import.err"
	has "$W/import.err" "takes over at"
	sc intermediate list corp --json >"$W/ints.json" 2>/dev/null
	has "$W/ints.json" '"state": "ready"'
	sleep 7
	touch "$W/stop"
	wait
}
step "$NCLIENTS clients issue while the next intermediate takes over at +4s" rotate_under_load

# Every response 201; leaves split by the intermediate after them in the
# chain (each verified against the root and that intermediate with openssl
# verify -x509_strict).
check_load() {
	"$PY" - "$W/load" "$W/c1.crt" "$W/c2.crt" "$W" <<'EOF'
import json, os, subprocess, sys
d, c1, c2, w = sys.argv[1:5]
norm = lambda p: open(p).read().strip()
ints = {norm(c1): "c1", norm(c2): "c2"}
count = {"c1": 0, "c2": 0}
bad = []
n = 0
for f in sorted(os.listdir(d)):
    if not f.endswith(".status"):
        continue
    n += 1
    st = open(os.path.join(d, f)).read().strip()
    body = os.path.join(d, f[:-7])
    if st != "201":
        bad.append("%s: %s %s" % (f, st, open(body).read()[:200] if os.path.exists(body) else ""))
        continue
    r = json.load(open(body))
    which = ints.get(r["chain"][0].strip())
    if which is None:
        bad.append("%s: chain names an unknown intermediate" % f)
        continue
    count[which] += 1
    if which == "c1" and not os.path.exists(os.path.join(w, "old.pem")):
        open(os.path.join(w, "old.pem"), "w").write(r["certificate"])
        open(os.path.join(w, "old.serial"), "w").write(r["serial"])
    leaf = os.path.join(w, "leaf.pem")
    open(leaf, "w").write(r["certificate"])
    v = subprocess.run(["openssl", "verify", "-x509_strict", "-CAfile",
                        os.path.join(w, "root", "root.crt"), "-untrusted",
                        c1 if which == "c1" else c2, leaf],
                       capture_output=True, text=True)
    if v.returncode != 0:
        bad.append("%s: %s" % (f, v.stdout + v.stderr))
print("requests %d, from c1 %d, from c2 %d" % (n, count["c1"], count["c2"]), file=sys.stderr)
if bad:
    sys.exit("\n".join(bad[:5]))
if count["c1"] == 0 or count["c2"] == 0:
    sys.exit("expected leaves from both intermediates: %r" % count)
EOF
}
step "no request failed; leaves of both intermediates verify against root + their own intermediate" check_load

# ocsp_old: the status openssl ocsp reports for the c1 leaf, asking the
# responder named in the leaf (the retired intermediate signs the answer).
ocsp_old() {
	local url
	url=$(openssl x509 -in "$W/old.pem" -noout -ocsp_uri)
	[ "$url" = "$HURL/a/corp/ocsp" ]
	openssl ocsp -issuer "$W/c1.crt" -cert "$W/old.pem" -url "$url" \
		-CAfile "$W/root/root.crt" >"$W/ocsp.out" 2>&1
	has "$W/ocsp.out" "Response verify OK"
	sed -n "s|^$W/old.pem: ||p" "$W/ocsp.out"
}

retired_still_answers() {
	local crl i
	[ "$(ocsp_old)" = good ]
	[ "$(api POST "/admin/v1/authorities/corp/certificates/$(cat "$W/old.serial")/revoke" \
		"$ADMIN" --data-binary '{"reason": "superseded"}')" = 200 ]
	[ "$(ocsp_old)" = revoked ]
	crl=$(openssl x509 -in "$W/old.pem" -noout -text |
		grep -o "$HURL/a/corp/crl/[0-9]*\.crl" | head -n 1)
	[ -n "$crl" ]
	for i in $(seq 1 50); do
		curl -sS --fail -o "$W/old-crl.der" "$crl"
		openssl crl -inform DER -in "$W/old-crl.der" -noout -text |
			tr -d ':' | tr 'A-F' 'a-f' >"$W/old-crl.txt"
		grep -F "$(cat "$W/old.serial")" "$W/old-crl.txt" >/dev/null && break
		sleep 0.2
	done
	has "$W/old-crl.txt" "$(cat "$W/old.serial")"
	cat "$W/root/root.crt" "$W/c1.crt" >"$W/c1-cas.pem"
	openssl crl -inform DER -in "$W/old-crl.der" -CAfile "$W/c1-cas.pem" \
		-verify -noout 2>&1 | grep "verify OK" >/dev/null
	openssl crl -inform DER -in "$W/old-crl.der" -out "$W/old-crl.pem"
	! openssl verify -crl_check -CRLfile "$W/old-crl.pem" \
		-CAfile "$W/root/root.crt" -untrusted "$W/c1.crt" "$W/old.pem" \
		>/dev/null 2>&1
}
step "after the switch the retired intermediate still answers OCSP for its leaves and its CRL takes a new revocation" retired_still_answers

switched() {
	sc intermediate list corp --json >"$W/ints.json" 2>/dev/null
	"$PY" - "$W/ints.json" <<'EOF'
import json, sys
l = json.load(open(sys.argv[1]))
states = [i["state"] for i in l]
assert states == ["retired", "active"], states
assert l[0]["retired_at"] is not None and l[0]["not_after"] is not None, l[0]
EOF
	sqlite3 "$DB" "SELECT action FROM audit_log WHERE authority='corp'" >"$W/audit.txt"
	has "$W/audit.txt" "intermediate.schedule"
	has "$W/audit.txt" "intermediate.retire"
	curl -sS --cacert "$CA" -o "$W/chain.pem" "$URL/a/corp/chain"
	diff <(openssl x509 -in "$W/chain.pem" -noout -fingerprint) \
		<(openssl x509 -in "$W/c2.crt" -noout -fingerprint)
}
step "the first one is retired (listed with its expiry), audited; GET /chain serves the new one" switched

# ---------------------------------------------------------------- unattended

rotation_api() {
	[ "$(api GET /admin/v1/authorities/corp/rotation "$ADMIN")" = 404 ]
	[ "$(api PUT /admin/v1/authorities/corp/rotation "$SCOPED" \
		--data-binary '{"rotate_before": "30d", "signer_command": "true"}')" = 403 ]
	[ "$(api PUT /admin/v1/authorities/corp/rotation "$ADMIN" \
		--data-binary '{"rotate_before": "30d", "signer_command": "true", "bogus": 1}')" = 400 ]
	[ "$(api PUT /admin/v1/authorities/corp/rotation "$ADMIN" \
		--data-binary '{"rotate_before": "30s", "signer_command": "true"}')" = 400 ]
	has "$W/api.out" "rotate-before must be between 60 seconds"
	[ "$(api GET /admin/v1/authorities/corp/rotation "$ADMIN")" = 404 ]
}
step "admin API rotation settings: global admin only, strict body, nothing stored on refusal" rotation_api

done_count() {
	sqlite3 "$DB" "SELECT count(*) FROM audit_log WHERE authority='corp' AND action='rotation.done'"
}

unattended() {
	local i
	[ "$(api PUT /admin/v1/authorities/corp/rotation "$ADMIN" \
		--data-binary "{\"rotate_before\": \"86395s\", \"signer_command\": \"$W/hook.sh\", \"hook_timeout\": \"20s\"}")" = 200 ]
	has "$W/api.out" '"rotate_before_seconds":86395'
	for i in $(seq 1 600); do
		[ "$(done_count)" -ge 2 ] && break
		sleep 0.1
	done
	[ "$(done_count)" -ge 2 ]
	sqlite3 "$DB" "SELECT action || ' ' || detail FROM audit_log WHERE authority='corp'" >"$W/audit.txt"
	has "$W/audit.txt" "rotation.request rotation requested the next intermediate"
	has "$W/audit.txt" "rotation.hook signer command exited 0"
	has "$W/audit.txt" "stderr: signing for corp"
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM intermediates WHERE state='active'")" = 2 ] # corp + server-tls
}
step "unattended: the hook signs, subca verifies and activates, twice, audited" unattended

issue_now() { # issue_now N: one leaf through the API, verified with its chain
	[ "$(api POST /a/corp/sign "$APIKEY" -H 'Content-Type: application/json' \
		--data-binary "@$W/k$1.json")" = 201 ]
	"$PY" - "$W/api.out" "$W/now" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
open(sys.argv[2] + ".leaf", "w").write(r["certificate"])
open(sys.argv[2] + ".int", "w").write(r["chain"][0])
EOF
	openssl verify -x509_strict -CAfile "$W/root/root.crt" -untrusted "$W/now.int" "$W/now.leaf"
}
step "a leaf issued after the unattended rotations verifies" issue_now 1

old_leaves_still_verify() {
	local f
	for f in "$W"/load/1.*; do
		case $f in *.status | *.err) continue ;; esac
		"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); open(sys.argv[2],"w").write(r["certificate"]); open(sys.argv[3],"w").write(r["chain"][0])' \
			"$f" "$W/old.leaf" "$W/old.int"
		openssl verify -x509_strict -CAfile "$W/root/root.crt" \
			-untrusted "$W/old.int" "$W/old.leaf" >/dev/null
	done
}
step "leaves of retired intermediates still verify against root + their intermediate" old_leaves_still_verify

active_fp() {
	sqlite3 "$DB" "SELECT fingerprint FROM intermediates i JOIN authorities a ON a.id = i.authority_id WHERE a.name='corp' AND i.state='active'"
}

failing_hook() {
	local i before
	sc authority rotation corp --rotate-before 86395s \
		--signer-command "echo 'root HSM offline' >&2; exit 3" >/dev/null
	before=$(active_fp)
	for i in $(seq 1 300); do
		grep 'exited with status 3' "$T/serve.log" >/dev/null && break
		sleep 0.1
	done
	has "$T/serve.log" '"event":"rotation-failed"'
	has "$T/serve.log" "exited with status 3; stderr: root HSM offline"
	has "$T/serve.log" "the current intermediate stays active"
	curl -sS --cacert "$CA" "$URL/metrics" >"$W/metrics"
	grep -E '^subca_rotation_failures_total\{authority="corp"\} [1-9]' "$W/metrics" >/dev/null
	grep -E '^subca_intermediate_expiry_seconds\{authority="corp"\} [0-9]+' "$W/metrics" >/dev/null
	has "$W/metrics" 'subca_intermediate_lifetime_warning{authority="corp"} 1'
	[ "$(active_fp)" = "$before" ]
	sqlite3 "$DB" "SELECT detail FROM audit_log WHERE action='rotation.fail'" >"$W/fail.txt"
	has "$W/fail.txt" "[HOOK_FAILED]"
}
step "a failing hook: log line and metric, the current intermediate stays active" failing_hook
step "the current intermediate still issues after the failed rotation" issue_now 2

# rotated_by CMD...: with the hook as corp's signer command, CMD rotates
# corp: it says so and another intermediate is active.
rotated_by() {
	local before
	sc authority rotation corp --rotate-before 60s --signer-command "$W/hook.sh" >/dev/null
	before=$(active_fp)
	"$@" 2>"$W/rotate.err" || { cat "$W/rotate.err" >&2; return 1; }
	has "$W/rotate.err" "activated"
	[ "$(active_fp)" != "$before" ]
}

by_hand() {
	rotated_by sc intermediate rotate corp
	sqlite3 "$DB" "SELECT detail FROM audit_log WHERE action='rotation.request' ORDER BY id DESC LIMIT 1" >"$W/req.txt"
	has "$W/req.txt" "reuses pending intermediate"
	sc authority rotation corp --off 2>/dev/null
	expect_fail NOT_FOUND 5 "has no signer command" -- "$SUBCA" intermediate rotate corp
}
step "intermediate rotate runs the flow once (reusing the pending one the failures left)" by_hand
step "and the rotated intermediate issues" issue_now 3

# remote CMD...: subca against the server with the global admin token.
remote() {
	SUBCA_SERVER=$URL SUBCA_TOKEN=$ADMIN SUBCA_CACERT=$CA sc "$@"
}

remote_rotate() {
	rotated_by remote intermediate rotate corp
	sqlite3 "$DB" "SELECT actor FROM audit_log WHERE action='rotation.run' ORDER BY id DESC LIMIT 1" >"$W/run.txt"
	grep '^token:' "$W/run.txt" >/dev/null
	sqlite3 "$DB" "SELECT actor FROM audit_log WHERE action='rotation.done' ORDER BY id DESC LIMIT 1" >"$W/done.txt"
	has "$W/done.txt" "server:rotation"
	# the audit filter, locally and remotely alike
	sc audit corp --action rotation. --limit 50 >"$W/rot-audit.txt"
	[ "$(grep -vc ' rotation\.' "$W/rot-audit.txt")" = 0 ]
	has "$W/rot-audit.txt" "rotation.run"
	sc audit corp --action rotation.done --limit 1 --json >"$W/a-local.json"
	remote audit corp --action rotation.done --limit 1 --json >"$W/a-remote.json"
	cmp "$W/a-local.json" "$W/a-remote.json"
	expect_fail USAGE 64 "lower-case letters" -- sc audit corp --action 'Rotation*'
}
step "remote intermediate rotate: the server's rotation thread runs the flow now, audited" remote_rotate
step "and the remotely rotated intermediate issues" issue_now 4

remote_rotate_refused() {
	local before
	sc authority rotation corp --rotate-before 60s \
		--signer-command "echo 'root HSM offline' >&2; exit 3" >/dev/null
	before=$(active_fp)
	expect_fail HOOK_FAILED 10 "root HSM offline" -- remote intermediate rotate corp
	[ "$(active_fp)" = "$before" ]
	expect_fail POLICY 4 "only a global admin credential" -- \
		env SUBCA_SERVER="$URL" SUBCA_TOKEN="$(cat "$W/scoped")" SUBCA_CACERT="$CA" \
		"$SUBCA" intermediate rotate corp
	sc authority rotation corp --off 2>/dev/null
	expect_fail NOT_FOUND 5 "has no signer command" -- remote intermediate rotate corp
}
step "remote intermediate rotate: a failing hook's error and exit, global token only, none set: NOT_FOUND" \
	remote_rotate_refused

finish
