#!/bin/bash
# `subca intermediate import`: every way a signed intermediate comes back
# wrong from a real signing tool is refused with its code, exit status and
# hint; the acceptable variants are accepted (with warnings where due).
. "$SUBCA_TEST_LIB"

R=$T/root
X=$T/x
mkdir -p "$X"
mk() { "$PY" "$TOOLS/make_cert.py" "$@"; }
signpy() { "$PY" "$TOOLS/sign_intermediate.py" "$@"; }

# pending NAME ROOTDIR [request options...]: authority NAME with the root in
# ROOTDIR/root.crt (or a bundle in ROOTDIR/import.pem) and a pending
# ec-p256 intermediate whose CSR is $T/NAME.csr.
pending() {
	local name=$1 rd=$2
	shift 2
	local file=$rd/root.crt
	[ ! -e "$rd/import.pem" ] || file=$rd/import.pem
	sc authority create "$name"
	sc root import "$name" "$file"
	sc intermediate request "$name" --cn "$name intermediate" --org "subca tests" \
		--key ec-p256 --path-len 0 --out "$T/$name.csr" "$@"
	authority_is "$name" pending
}

# sign NAME ROOTDIR [sign_intermediate.py options]: $T/NAME.crt
sign() {
	local name=$1 rd=$2
	shift 2
	signpy --root-cert "$rd/root.crt" --root-key "$rd/root.key" \
		--csr "$T/$name.csr" --days 365 --path-len 0 --out "$T/$name.crt" "$@"
}

refuse() {
	local desc=$1
	shift
	step "refuses $desc" expect_fail "$@"
}

step "subca init" sc init
step "root made (python, ec-p256)" gen_root python ec-p256 "$R" "Import Test Root"
step "authority a pending" pending a "$R"

# ------------------------------------------------------------ refusals

mk --key ec-p256 --cn "Import Test Root" --org "subca tests" \
	--out-cert "$X/lookalike.crt" --out-key "$X/lookalike.key"
signpy --root-cert "$X/lookalike.crt" --root-key "$X/lookalike.key" \
	--csr "$T/a.csr" --path-len 0 --out "$X/wrong-issuer.crt"
refuse "a certificate signed by a look-alike root: WRONG_ISSUER (4)" \
	WRONG_ISSUER 4 -- sc intermediate import a "$X/wrong-issuer.crt"

openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout "$X/other.key" -subj "/O=subca tests/CN=some other CA" \
	-out "$X/other.csr" 2>/dev/null
signpy --root-cert "$R/root.crt" --root-key "$R/root.key" --csr "$X/other.csr" \
	--path-len 0 --out "$X/other.crt"
refuse "a different CSR signed: KEY_MISMATCH (4), says so" \
	KEY_MISMATCH 4 "different CSR" -- sc intermediate import a "$X/other.crt"

# CFSSL without "ca_constraint" in its signing profile: for a CSR asking
# for CA:TRUE (as subca's does) cfssl 1.2 refuses outright; for one that
# does not ask it issues CA:FALSE with the profile's usages. The CA:FALSE
# certificate is therefore made the way CFSSL makes it (CA:FALSE with cert
# sign + crl sign), by python.
cat >"$X/cfssl.json" <<'EOF'
{"signing": {"default": {"expiry": "8760h",
  "usages": ["cert sign", "crl sign", "digital signature"]}}}
EOF
cfssl_noca() {
	! cfssl sign -ca "$R/root.crt" -ca-key "$R/root.key" \
		-config "$X/cfssl.json" "$T/a.csr" >"$X/cfssl.out" 2>&1
	has "$X/cfssl.out" "disallows issuing CA certificate"
}
step "cfssl without ca_constraint refuses subca's CA CSR" cfssl_noca
sign a "$R" --out "$X/cfssl-noca.pem" --ca-false
refuse "a CFSSL-style CA:FALSE: NOT_CA (4), hint names ca_constraint" \
	NOT_CA 4 "hint:" "ca_constraint" -- sc intermediate import a "$X/cfssl-noca.pem"

openssl x509 -req -in "$T/a.csr" -CA "$R/root.crt" -CAkey "$R/root.key" \
	-set_serial 0x5eed -days 30 -out "$X/v1.crt" 2>/dev/null
step "openssl x509 -req without -extfile made a v1 certificate" \
	has <(cert_text "$X/v1.crt") "Version: 1 (0x0)"
refuse "a v1 certificate: V1_CERT (4), hint names -extfile" \
	V1_CERT 4 "hint:" "-extfile" -- sc intermediate import a "$X/v1.crt"

sign a "$R" --out "$X/nokcs.crt" --no-keycertsign
refuse "keyUsage without keyCertSign: NO_KEYCERTSIGN (4)" \
	NO_KEYCERTSIGN 4 -- sc intermediate import a "$X/nokcs.crt"

sign a "$R" --out "$X/nobc.crt" --no-bc
refuse "no basicConstraints: NOT_CA (4)" NOT_CA 4 -- sc intermediate import a "$X/nobc.crt"

sign a "$R" --out "$X/expired.crt" --not-before-days -30 --not-after-days -1
refuse "an expired certificate: EXPIRED (4)" EXPIRED 4 -- \
	sc intermediate import a "$X/expired.crt"

sign a "$R" --out "$X/future.crt" --not-before-days 10 --not-after-days 300
refuse "a not yet valid certificate: NOT_YET_VALID (4)" NOT_YET_VALID 4 -- \
	sc intermediate import a "$X/future.crt"

sign a "$R" --out "$X/sha1.crt" --hash sha1
refuse "a SHA-1 signature: WEAK_SIGNATURE (4)" WEAK_SIGNATURE 4 -- \
	sc intermediate import a "$X/sha1.crt"

sign a "$R" --out "$X/crit.crt" --unknown-critical
refuse "an unknown critical extension: UNKNOWN_CRITICAL (4)" UNKNOWN_CRITICAL 4 -- \
	sc intermediate import a "$X/crit.crt"

sign a "$R" --out "$X/leaf.crt" --leaf --san-dns host.example
refuse "a leaf certificate: LEAF_CERT (4)" LEAF_CERT 4 -- \
	sc intermediate import a "$X/leaf.crt"

refuse "the CSR uploaded back: CSR_NOT_CERT (2)" CSR_NOT_CERT 2 -- \
	sc intermediate import a "$T/a.csr"

sign a "$R" --out "$X/good-a.crt"
cat "$X/good-a.crt" "$X/other.key" >"$X/with-key.pem"
refuse "a private key in the file: PRIVATE_KEY (2)" PRIVATE_KEY 2 -- \
	sc intermediate import a "$X/with-key.pem"
step "the key's text is not echoed" eval \
	'lacks "$T/xf.err" "$(sed -n 2p "$X/other.key")" && lacks "$T/xf.out" "PRIVATE KEY"'

cat "$X/good-a.crt" "$X/lookalike.crt" >"$X/unrelated.pem"
refuse "unrelated certificates: UNRELATED_CERTS (2)" UNRELATED_CERTS 2 -- \
	sc intermediate import a "$X/unrelated.pem"

: >"$X/empty.pem"
refuse "an empty file: EMPTY (2)" EMPTY 2 -- sc intermediate import a "$X/empty.pem"

head -n 8 "$X/good-a.crt" >"$X/truncated.pem"
refuse "a truncated PEM: TRUNCATED (2)" TRUNCATED 2 -- \
	sc intermediate import a "$X/truncated.pem"

printf 'this is not a certificate\n%.0s' $(seq 1 20) >"$X/garbage.txt"
refuse "garbage: GARBAGE (2)" GARBAGE 2 -- sc intermediate import a "$X/garbage.txt"

"$PY" - "$X/good-a.crt" "$X/big.pem" <<'EOF'
import sys
pem = open(sys.argv[1], "rb").read()
pad = 1024 * 1024 + 1 - len(pem)
open(sys.argv[2], "wb").write(b"#" * (pad - 1) + b"\n" + pem)
EOF
refuse "over 1 MiB: TOO_LARGE (7)" TOO_LARGE 7 -- sc intermediate import a "$X/big.pem"

json_report() {
	local want=$1 code=$2 rc=0
	sc intermediate import a "$X/sha1.crt" --json >"$X/report.json" 2>/dev/null || rc=$?
	[ "$rc" = "$want" ] || { log "exit $rc, want $want"; return 1; }
	"$PY" -m json.tool "$X/report.json" >/dev/null
	"$PY" - "$X/report.json" "$code" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["result"] == "refused", r
codes = [x["code"] for x in r["refusals"]]
assert sys.argv[2] in codes, codes
assert all(x.get("message") for x in r["refusals"]), r
assert isinstance(r["warnings"], list), r
EOF
}
step "--json refusal report is valid JSON listing WEAK_SIGNATURE (exit 4)" \
	json_report 4 WEAK_SIGNATURE

step "after all refusals the authority is still pending" authority_is a pending

# Path length: the anchor (pathlen:0) allows no CA below its signing CA.
# subca sees this already at root import, since the intermediate it needs
# could never be valid there: refused then, before any CSR exists.
P=$T/pl
step "root pathlen:0 + signing CA bundle made" eval '
	mk --key ec-p256 --cn "PL Anchor" --path-len 0 \
		--out-cert "$P-anchor.crt" --out-key "$P-anchor.key" &&
	mkdir -p "$P" &&
	mk --key ec-p256 --cn "PL Signing CA" --issuer-cert "$P-anchor.crt" \
		--issuer-key "$P-anchor.key" --out-cert "$P/root.crt" --out-key "$P/root.key" &&
	cat "$P-anchor.crt" "$P/root.crt" >"$P/import.pem"'
step "authority pl created" sc authority create pl
refuse "a CA below a pathlen:0 anchor's signing CA: PATHLEN_FORBIDDEN (4)" \
	PATHLEN_FORBIDDEN 4 "pathlen" -- sc root import pl "$P/import.pem"

# Name constraints: the root permits only example.com.
N=$T/ncroot
step "root with permitted DNS example.com made" eval '
	mkdir -p "$N" && mk --key ec-p256 --cn "NC Root" --permit-dns example.com \
		--out-cert "$N/root.crt" --out-key "$N/root.key"'
step "authority nc pending" pending nc "$N"
step "root signs nc with a subjectAltName outside example.com" \
	sign nc "$N" --san-dns ca.other.test
refuse "an intermediate named outside the root's name constraints: NAME_CONSTRAINTS (4)" \
	NAME_CONSTRAINTS 4 "other.test" -- sc intermediate import nc "$T/nc.crt"
step "authority nc2 pending, asking for permitted DNS other.test only" \
	pending nc2 "$N" --permit-dns other.test
step "root signs nc2, copying the requested constraints" sign nc2 "$N"
refuse "constraints disjoint from the root's: nothing could be issued (4)" \
	"*" 4 "other.test" -- sc intermediate import nc2 "$T/nc2.crt"

# ------------------------------------------------------------ accepted

accepted() {
	local name=$1 file=$2
	shift 2
	sc intermediate import "$name" "$file" "$@"
	authority_is "$name" active
	sc issue "$name" --cn host.example --san DNS:host.example \
		--out-key "$T/$name-leaf.key" --out-cert "$T/$name-chain.pem"
	split_chain "$T/$name-chain.pem" "$T/$name-leaf.pem" "$T/$name-int.pem"
	verify_chain "$R/root.crt" "$T/$name-int.pem" "$T/$name-leaf.pem"
}

for v in cert-root root-cert crlf der p7b; do
	step "authority $v pending and signed" eval "pending $v \"\$R\" && sign $v \"\$R\""
done
cat "$T/cert-root.crt" "$R/root.crt" >"$X/cert-root.pem"
cat "$R/root.crt" "$T/root-cert.crt" >"$X/root-cert.pem"
sed 's/$/\r/' "$T/crlf.crt" >"$X/crlf.pem"
openssl x509 -in "$T/der.crt" -outform DER -out "$X/der.der"
openssl crl2pkcs7 -nocrl -certfile "$T/p7b.crt" -certfile "$R/root.crt" -out "$X/p7b.p7b"
step "accepts certificate + root" accepted cert-root "$X/cert-root.pem"
step "accepts root + certificate" accepted root-cert "$X/root-cert.pem"
step "accepts CRLF PEM" accepted crlf "$X/crlf.pem"
step "accepts DER" accepted der "$X/der.der"
step "accepts PKCS#7 (.p7b) with the root" accepted p7b "$X/p7b.p7b"

# notAfter beyond the root's: accepted with a warning saying so.
long_life() {
	sc intermediate import long "$T/long.crt" --json >"$X/long.json" 2>"$X/long.err"
	"$PY" -m json.tool "$X/long.json" >/dev/null
	"$PY" - "$X/long.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["result"] == "accepted", r
assert r["refusals"] == [], r
assert len(r["warnings"]) >= 1, r
EOF
	has "$X/long.err" "subca: warning ["
	grep -qi "root" "$X/long.err" || { log "warning does not mention the root"; return 1; }
	authority_is long active
}
step "authority long pending, signed for longer than the root lives" \
	eval 'pending long "$R" && sign long "$R" --days 5000'
step "accepts notAfter past the root's with a warning (--json report too)" long_life

# Path length missing although 0 was requested.
step "authority nopl pending, signed without path length" \
	eval 'pending nopl "$R" && sign nopl "$R" --path-len none'
refuse "no path length when 0 was requested: WEAKER_THAN_REQUESTED (4)" \
	WEAKER_THAN_REQUESTED 4 -- sc intermediate import nopl "$T/nopl.crt"
step "still pending after the refusal" authority_is nopl pending
step "accepted with --accept-weaker" accepted nopl "$T/nopl.crt" --accept-weaker

finish
