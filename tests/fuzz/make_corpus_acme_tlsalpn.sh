#!/bin/sh
# Regenerate the seeds of tests/fuzz/corpus/acme_tlsalpn/ for
# fuzz_acme_tlsalpn.c: self-signed DER certificates as a tls-alpn-01
# responder would present them (RFC 8737 3), right and wrong, made with
# `openssl req -x509`. The key authorization is the one fuzz_acme_tlsalpn.c
# checks against: keep them in sync. Keys are fresh on every run (the
# seeds differ each time; what they exercise does not).
set -eu
out=$(cd "$(dirname "$0")" && pwd)/corpus/acme_tlsalpn
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

ka='tok.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI'
hex() { printf '%s' "$1" | openssl dgst -sha256 -hex | sed 's/.*= //; s/../:&/g; s/^://'; }
right="DER:04:20:$(hex "$ka")"
wrong="DER:04:20:$(hex other)"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$work/k.pem" 2>/dev/null

# seed NAME [-addext EXT]...
seed() {
	name=$1
	shift
	openssl req -x509 -new -key "$work/k.pem" -subj /CN=acme -days 7 \
		-outform DER -out "$out/$name" "$@"
}

seed right-dns -addext subjectAltName=DNS:acme.test \
	-addext "1.3.6.1.5.5.7.1.31=critical,$right"
seed right-ipv4 -addext subjectAltName=IP:192.0.2.1 \
	-addext "1.3.6.1.5.5.7.1.31=critical,$right"
seed right-ipv6 -addext subjectAltName=IP:2001:db8::1 \
	-addext "1.3.6.1.5.5.7.1.31=critical,$right"
seed wrong-hash -addext subjectAltName=DNS:acme.test \
	-addext "1.3.6.1.5.5.7.1.31=critical,$wrong"
seed not-critical -addext subjectAltName=DNS:acme.test \
	-addext "1.3.6.1.5.5.7.1.31=$right"
seed extra-san -addext subjectAltName=DNS:acme.test,DNS:other.test \
	-addext "1.3.6.1.5.5.7.1.31=critical,$right"
seed other-san -addext subjectAltName=email:a@acme.test \
	-addext "1.3.6.1.5.5.7.1.31=critical,$right"
seed no-san -addext "1.3.6.1.5.5.7.1.31=critical,$right"
seed no-acme-ext -addext subjectAltName=DNS:acme.test
seed short-hash -addext subjectAltName=DNS:acme.test \
	-addext "1.3.6.1.5.5.7.1.31=critical,DER:04:02:AB:CD"
seed not-octets -addext subjectAltName=DNS:acme.test \
	-addext "1.3.6.1.5.5.7.1.31=critical,DER:05:00"
seed trailing -addext subjectAltName=DNS:acme.test \
	-addext "1.3.6.1.5.5.7.1.31=critical,DER:04:01:AB:00"
head -c 200 "$out/right-dns" > "$out/truncated"
