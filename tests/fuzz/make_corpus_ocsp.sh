#!/bin/sh
# Regenerate the seed corpus of fuzz_ocsp: OCSP requests made by
# `openssl ocsp -reqout` for a throw-away CA and leaf (SHA-1 and SHA-256
# CertIDs, with and without a nonce, several certificates, a bare serial),
# plus a truncated one and one with trailing bytes.
set -eu

out=$(cd "$(dirname "$0")" && pwd)/corpus/ocsp
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"
cd "$tmp"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout ca.key -out ca.pem -subj /CN=Fuzz-CA -days 30 \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout leaf.key -out leaf.csr -subj /CN=leaf.example 2>/dev/null
openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -days 30 \
	-set_serial 0x5f3a01 -out leaf.pem 2>/dev/null

openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout "$out/sha1"
openssl ocsp -issuer ca.pem -cert leaf.pem -reqout "$out/sha1-nonce"
openssl ocsp -sha256 -issuer ca.pem -cert leaf.pem -reqout "$out/sha256-nonce"
openssl ocsp -issuer ca.pem -serial 0x01 -serial 0x02 -serial 0x03 \
	-no_nonce -reqout "$out/three-serials"
openssl ocsp -issuer ca.pem -serial 0x7fffffffffffffffffffffffffffffffffffffff \
	-no_nonce -reqout "$out/long-serial"
head -c 40 "$out/sha1-nonce" > "$out/truncated"
{ cat "$out/sha1"; printf 'xx'; } > "$out/trailing"
