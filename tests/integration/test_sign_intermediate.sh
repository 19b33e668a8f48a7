#!/bin/bash
# `subca sign-intermediate`, the offline signer, on its own: no data dir,
# a CSR made by openssl, the result checked by openssl and certtool.
. "$SUBCA_TEST_LIB"

export SUBCA_DATA=$T/never-created
R=$T/root
W=$T/w
mkdir -p "$W"

step "root made (certtool, ec-p384)" gen_root certtool ec-p384 "$R"
step "CSR made by openssl asking for CA, pathlen 1, permitted DNS corp.example" \
	openssl req -new -newkey rsa:2048 -nodes -keyout "$W/int.key" \
	-subj "/C=DE/O=subca tests/CN=Offline Intermediate" \
	-addext "basicConstraints=critical,CA:TRUE,pathlen:1" \
	-addext "nameConstraints=critical,permitted;DNS:corp.example" \
	-out "$W/int.csr"

signed() {
	sc sign-intermediate --root-cert "$R/root.crt" --root-key "$R/root.key" \
		--days 400 --path-len 0 "$W/int.csr" --out "$W/int.crt"
	cert_text "$W/int.crt" >"$W/int.txt"
	has "$W/int.txt" "CA:TRUE, pathlen:0"
	has "$W/int.txt" "Certificate Sign, CRL Sign"
	has "$W/int.txt" "X509v3 Name Constraints: critical"
	has "$W/int.txt" "DNS:corp.example"
	has "$W/int.txt" "X509v3 Subject Key Identifier"
	has "$W/int.txt" "X509v3 Authority Key Identifier"
	# The subject is kept byte for byte.
	cmp <(openssl req -in "$W/int.csr" -noout -subject -nameopt RFC2253) \
		<(openssl x509 -in "$W/int.crt" -noout -subject -nameopt RFC2253)
	# The AKI is the root's actual SKI (certtool's, not recomputed).
	[ "$(openssl x509 -in "$W/int.crt" -noout -ext authorityKeyIdentifier |
		tail -n 1 | tr -d ' ')" = "$(openssl x509 -in "$R/root.crt" -noout \
		-ext subjectKeyIdentifier | tail -n 1 | tr -d ' ')" ]
	openssl verify -x509_strict -CAfile "$R/root.crt" "$W/int.crt"
}
step "signs it: CA pathlen 0, keyCertSign, constraints copied, AKI = root SKI" signed
step "needs no data directory" test ! -e "$SUBCA_DATA"

leaf_under() {
	"$PY" "$TOOLS/make_cert.py" --leaf --cn www.corp.example \
		--san-dns www.corp.example --issuer-cert "$W/int.crt" \
		--issuer-key "$W/int.key" --days 30 --out-cert "$W/leaf.crt" \
		--out-key "$W/leaf.key"
	verify_chain "$R/root.crt" "$W/int.crt" "$W/leaf.crt" "$W/leaf.key" www.corp.example
}
step "a leaf under it verifies (openssl, certtool, TLS)" leaf_under

step "other root key made" openssl_genkey ec-p384 "$W/other.key"
step "refuses a root key that is not the root's: ROOT_KEY_MISMATCH (2)" \
	expect_fail ROOT_KEY_MISMATCH 2 -- sc sign-intermediate --root-cert "$R/root.crt" \
	--root-key "$W/other.key" "$W/int.csr" --out "$W/x.crt"

bad_sig_csr() {
	openssl req -in "$W/int.csr" -outform DER -out "$W/bad.der"
	"$PY" - "$W/bad.der" <<'EOF'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-1] ^= 0x01
open(sys.argv[1], "wb").write(b)
EOF
	openssl req -inform DER -in "$W/bad.der" -out "$W/bad.csr"
	# openssl 3.0 req -verify reports the failure but exits 0.
	openssl req -in "$W/bad.csr" -noout -verify 2>&1 | grep "verify failure" >/dev/null
}
step "CSR with a broken self-signature made" bad_sig_csr
step "refuses it: CSR_SIGNATURE (2)" \
	expect_fail CSR_SIGNATURE 2 -- sc sign-intermediate --root-cert "$R/root.crt" \
	--root-key "$R/root.key" "$W/bad.csr" --out "$W/y.crt"
step "wrote no certificate for the refusals" eval '[ ! -e "$W/x.crt" ] && [ ! -e "$W/y.crt" ]'
step "no subca output contained PRIVATE KEY" lacks "$T/transcript" "PRIVATE KEY"

finish
