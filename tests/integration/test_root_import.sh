#!/bin/bash
# `subca root import`: every form a root arrives in from real tools, and
# every refusal with its error code and exit status.
. "$SUBCA_TEST_LIB"

R=$T/r
mk() { "$PY" "$TOOLS/make_cert.py" "$@"; }

step "subca init" sc init
step "good root (python, ec-p256)" gen_root python ec-p256 "$R"

# ------------------------------------------------------------ accepted forms

openssl x509 -in "$R/root.crt" -outform DER -out "$R/root.der"
sed 's/$/\r/' "$R/root.crt" >"$R/root-crlf.pem"
openssl crl2pkcs7 -nocrl -certfile "$R/root.crt" -out "$R/root.p7b"
openssl crl2pkcs7 -nocrl -certfile "$R/root.crt" -outform DER -out "$R/root-der.p7b"

accept() {
	local name=$1 file=$2
	sc authority create "$name"
	sc root import "$name" "$file"
	authority_is "$name" needs-intermediate
}
step "accepts PEM with LF line endings" accept pem-lf "$R/root.crt"
step "accepts PEM with CRLF line endings (AD CS)" accept pem-crlf "$R/root-crlf.pem"
step "accepts DER" accept der "$R/root.der"
step "accepts PKCS#7 PEM (.p7b)" accept p7b "$R/root.p7b"
step "accepts PKCS#7 DER (.p7b)" accept p7b-der "$R/root-der.p7b"

# Exactly 1 MiB (SUBCA_MAX_CERT_INPUT) is accepted, one byte more is not.
# The padding is explanatory text before the PEM block, which PEM allows.
pad_to() {
	"$PY" - "$1" "$2" "$3" <<'EOF'
import sys
pem = open(sys.argv[1], "rb").read()
size = int(sys.argv[3])
pad = size - len(pem)
body = (b"x" * 63 + b"\n") * (pad // 64)
if pad % 64:
    body += b"y" * (pad % 64 - 1) + b"\n"
open(sys.argv[2], "wb").write(body + pem)
EOF
	[ "$(stat -c %s "$2")" = "$3" ]
}
step "1 MiB file made" pad_to "$R/root.crt" "$R/exact.pem" 1048576
step "1 MiB + 1 file made" pad_to "$R/root.crt" "$R/over.pem" 1048577
step "accepts exactly 1 MiB" accept exact-1mib "$R/exact.pem"

# A bundle: the anchor plus the customer's own signing CA under it; the
# intermediate is then signed by the signing CA and the chain must verify
# with the anchor as the only trust anchor.
B=$T/b
step "anchor and signing CA made" eval '
	gen_root python ec-p384 "$B" "Bundle Anchor" &&
	mk --key ec-p256 --cn "Bundle Signing CA" --issuer-cert "$B/root.crt" \
		--issuer-key "$B/root.key" --out-cert "$B/sub.crt" --out-key "$B/sub.key" &&
	cat "$B/root.crt" "$B/sub.crt" >"$B/anchor-first.pem" &&
	cat "$B/sub.crt" "$B/root.crt" >"$B/sub-first.pem"'

bundle() {
	local name=$1 file=$2 d=$T/$1
	mkdir -p "$d"
	accept "$name" "$file"
	sc intermediate request "$name" --cn "$name intermediate" --key ec-p256 \
		--path-len 0 --out "$d/int.csr"
	"$PY" "$TOOLS/sign_intermediate.py" --root-cert "$B/sub.crt" \
		--root-key "$B/sub.key" --csr "$d/int.csr" --path-len 0 \
		--days 365 --out "$d/int.crt"
	sc intermediate import "$name" "$d/int.crt"
	authority_is "$name" active
	sc issue "$name" --cn host.example --san DNS:host.example \
		--out-key "$d/leaf.key" --out-cert "$d/chain.pem"
	split_chain "$d/chain.pem" "$d/leaf.pem" "$d/rest.pem"
	# A TLS client that trusts only the anchor also needs the signing CA:
	# the issued chain file carries it after the intermediate.
	grep -qF -- "$(sed -n 2p "$B/sub.crt")" "$d/rest.pem" ||
		{ echo "issued chain lacks the signing CA of the root bundle"; return 1; }
	verify_chain "$B/root.crt" "$d/rest.pem" "$d/leaf.pem" "$d/leaf.key" host.example
}
step "bundle anchor + signing CA: intermediate signed by the signing CA verifies" \
	bundle bundle-a "$B/anchor-first.pem"
step "bundle signing CA + anchor (reverse order) works the same" \
	bundle bundle-b "$B/sub-first.pem"

# ------------------------------------------------------------ refusals

step "authority for the refusals" sc authority create bad
X=$T/x
mkdir -p "$X"

refuse() {
	local desc=$1
	shift
	step "refuses $desc" expect_fail "$@"
}

openssl_genkey ec-p256 "$X/only.key"
refuse "a private key alone: PRIVATE_KEY (2)" PRIVATE_KEY 2 -- \
	sc root import bad "$X/only.key"

cat "$R/root.crt" "$R/root.key" >"$X/cert-key.pem"
refuse "cert+key in one file: PRIVATE_KEY (2)" PRIVATE_KEY 2 -- \
	sc root import bad "$X/cert-key.pem"
key_not_echoed() {
	local line
	# Every base64 line of the key, and the armour itself.
	for line in $(grep -v -- "-----" "$R/root.key"); do
		lacks "$T/xf.out" "$line"
		lacks "$T/xf.err" "$line"
	done
	lacks "$T/xf.err" "BEGIN PRIVATE KEY"
	lacks "$T/xf.out" "BEGIN PRIVATE KEY"
}
step "the refused key's text appears nowhere in subca's output" key_not_echoed

openssl_genkey ec-p256 "$X/crl-ca.key"
cat >"$X/crl.cnf" <<EOF
[ca]
default_ca = c
[c]
database = $X/index.txt
crlnumber = $X/crlnumber
default_md = sha256
default_crl_days = 30
EOF
: >"$X/index.txt"
echo 01 >"$X/crlnumber"
step "a CRL made" openssl ca -gencrl -config "$X/crl.cnf" -keyfile "$R/root.key" \
	-cert "$R/root.crt" -out "$X/root.crl"
refuse "a CRL: NOT_CERTIFICATE (2)" NOT_CERTIFICATE 2 -- sc root import bad "$X/root.crl"

head -c 3000 /dev/urandom >"$X/random.bin"
# Not by chance a SEQUENCE: make the first byte something else.
printf '\x01' | dd of="$X/random.bin" bs=1 count=1 conv=notrunc 2>/dev/null
refuse "random bytes: GARBAGE (2)" GARBAGE 2 -- sc root import bad "$X/random.bin"

openssl req -new -key "$R/root.key" -subj "/CN=a csr" -out "$X/req.csr"
refuse "a CSR: CSR_NOT_CERT (2)" CSR_NOT_CERT 2 -- sc root import bad "$X/req.csr"

mk --cn "CA false" --ca-false --out-cert "$X/cafalse.crt"
refuse "CA:FALSE: NOT_CA (4)" NOT_CA 4 -- sc root import bad "$X/cafalse.crt"

mk --cn "No BC" --no-bc --out-cert "$X/nobc.crt"
refuse "no basicConstraints: NOT_CA (4)" NOT_CA 4 -- sc root import bad "$X/nobc.crt"

mk --cn "No keyCertSign" --no-keycertsign --out-cert "$X/nokcs.crt"
refuse "keyUsage without keyCertSign: NO_KEYCERTSIGN (4)" NO_KEYCERTSIGN 4 -- \
	sc root import bad "$X/nokcs.crt"

mk --cn "Expired" --not-before-days -400 --not-after-days -30 --out-cert "$X/expired.crt"
refuse "an expired root: EXPIRED (4)" EXPIRED 4 -- sc root import bad "$X/expired.crt"

mk --cn "Future" --not-before-days 30 --not-after-days 400 --out-cert "$X/future.crt"
refuse "a not yet valid root: NOT_YET_VALID (4)" NOT_YET_VALID 4 -- \
	sc root import bad "$X/future.crt"

# Flip one bit in the last byte of the DER, which lies in the signature.
flip_sig() {
	openssl x509 -in "$R/root.crt" -outform DER -out "$X/flip.der"
	"$PY" - "$X/flip.der" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-1] ^= 0x01
open(sys.argv[1], "wb").write(b)
EOF
	openssl x509 -inform DER -in "$X/flip.der" -out "$X/flip.pem"
	! openssl verify -check_ss_sig -CAfile "$X/flip.pem" "$X/flip.pem" >/dev/null 2>&1
}
step "root with a corrupted self-signature made" flip_sig
refuse "a corrupted self-signature: BAD_SELF_SIGNATURE (4)" BAD_SELF_SIGNATURE 4 -- \
	sc root import bad "$X/flip.pem"

mk --key rsa-2048 --cn "SHA-1 root" --hash sha1 --out-cert "$X/sha1.crt"
refuse "a SHA-1 signed root: WEAK_SIGNATURE (4)" WEAK_SIGNATURE 4 -- \
	sc root import bad "$X/sha1.crt"

mk --key rsa-1024 --cn "RSA-1024 root" --out-cert "$X/rsa1024.crt"
refuse "an RSA-1024 root: WEAK_KEY (4)" WEAK_KEY 4 -- sc root import bad "$X/rsa1024.crt"

step "unrelated certificates made" eval '
	gen_root python ec-p256 "$X/o" "Other Root" &&
	mk --cn "Other Signing CA" --issuer-cert "$X/o/root.crt" \
		--issuer-key "$X/o/root.key" --out-cert "$X/o/sub.crt" &&
	cat "$R/root.crt" "$X/o/sub.crt" >"$X/unrelated.pem"'
refuse "unrelated certificates in one bundle: UNRELATED_CERTS (2)" UNRELATED_CERTS 2 -- \
	sc root import bad "$X/unrelated.pem"

refuse "1 MiB + 1 byte: TOO_LARGE (7)" TOO_LARGE 7 -- sc root import bad "$R/over.pem"

: >"$X/empty.pem"
refuse "an empty file: EMPTY (2)" EMPTY 2 -- sc root import bad "$X/empty.pem"

refuse "an unknown authority: NOT_FOUND (5)" NOT_FOUND 5 -- \
	sc root import no-such-authority "$R/root.crt"

step "the refusals left the authority waiting for its root" authority_is bad needs-root
step "and it still accepts a good root afterwards" eval \
	'sc root import bad "$R/root.crt" && authority_is bad needs-intermediate'

finish
