#!/bin/sh
# Regenerate the seeds of tests/fuzz/corpus/intermediate/ for
# fuzz_intermediate.c: signed intermediates for the pending key, issued by
# the fixed root, with fixed dates (2025-01-01 .. 2035-01-01) so that the
# target's fixed "now" (2026-01-01) sees them valid. The root certificate and
# the pending key below are the ones fuzz_intermediate.c embeds: keep them in
# sync. Test keys only, made for this corpus.
set -eu
out=$(cd "$(dirname "$0")" && pwd)/corpus/intermediate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

cat > root.key <<'PEM'
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgPnJr9svjM5CnjImO
WijPAgMYh4PUVmNqcquNvez7Sj6hRANCAAScjIYdSheIX4/lwzBs7KhNpxC6e49m
eW9ApBbL/CnT2eHqyKNsGW9KeTE7VjR2D+WjJ1mvoj+haOMYctPjID+Q
-----END PRIVATE KEY-----
PEM
cat > pending.key <<'PEM'
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0kbWhaDGwmAD1Wia
VE4nV7wpVKD5W36RccaaNmvE0XWhRANCAARg/DbC8WisrmLqlXI81FgeIeBOiPwU
GyN6z5jMqF//+ToMYRjDhjsbk9pekMnxYMVjobFChMJ1+goWgdNkPatD
-----END PRIVATE KEY-----
PEM

mkdir db && : > db/index.txt && echo 01 > db/serial
cat > ca.cnf <<'CNF'
[ca]
default_ca = fuzz
[fuzz]
database = db/index.txt
serial = db/serial
new_certs_dir = db
default_md = sha256
policy = anything
unique_subject = no
email_in_dn = no
preserve = yes
[anything]
countryName = optional
organizationName = optional
commonName = supplied
[root]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[good]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[nopathlen]
basicConstraints = critical,CA:true
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[cafalse]
basicConstraints = critical,CA:false
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:www.example.com
[noku]
basicConstraints = CA:true
[critical]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
1.3.6.1.4.1.99999.1 = critical,DER:05:00
[nc]
basicConstraints = critical,CA:true,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
nameConstraints = critical,permitted;DNS:.example.com,excluded;IP:10.0.0.0/255.0.0.0
subjectKeyIdentifier = hash
CNF

sign() { # name extensions [extra openssl ca flags]
	name=$1 ext=$2
	shift 2
	openssl ca -batch -config ca.cnf -notext -preserveDN -in pending.csr \
		-cert root.pem -keyfile root.key -extensions "$ext" \
		-startdate 20250101000000Z -enddate 20350101000000Z \
		-out "$name.pem" "$@" 2>/dev/null
}

# Made once with: openssl req -new -key root.key -subj "/O=Fuzz/CN=Fuzz Root"
# | openssl ca -selfsign -extensions root (same dates); kept fixed because
# ECDSA signatures differ on every run and the target embeds these bytes.
cat > root.pem <<'PEM'
-----BEGIN CERTIFICATE-----
MIIBdzCCAR2gAwIBAgIBATAKBggqhkjOPQQDAjAjMQ0wCwYDVQQKDARGdXp6MRIw
EAYDVQQDDAlGdXp6IFJvb3QwHhcNMjUwMTAxMDAwMDAwWhcNMzUwMTAxMDAwMDAw
WjAjMQ0wCwYDVQQKDARGdXp6MRIwEAYDVQQDDAlGdXp6IFJvb3QwWTATBgcqhkjO
PQIBBggqhkjOPQMBBwNCAAScjIYdSheIX4/lwzBs7KhNpxC6e49meW9ApBbL/CnT
2eHqyKNsGW9KeTE7VjR2D+WjJ1mvoj+haOMYctPjID+Qo0IwQDAPBgNVHRMBAf8E
BTADAQH/MA4GA1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUrEkqlrqe6xVJ1tqnj1FQ
1GDvoQMwCgYIKoZIzj0EAwIDSAAwRQIgQ0h2T0WuHJvEOEtJ0dsnJHxEoUwVpjDD
nUiujWA8GoQCIQDrBnL+XuDhOqaLfk7lrk1vh8ED+4hSAML1P09i/BMicg==
-----END CERTIFICATE-----
PEM
openssl req -new -key pending.key -subj "/O=Example/CN=Fuzz Issuing CA" \
	-out pending.csr

sign good good
sign nopathlen nopathlen
sign cafalse cafalse
sign noku noku
sign critical critical
sign nc nc
sign sha1 good -md sha1
openssl x509 -req -in pending.csr -CA root.pem -CAkey root.key \
	-set_serial 99 -days 3650 -out v1.pem 2>/dev/null

cp good.pem "$out/good.pem"
openssl x509 -in good.pem -outform DER -out "$out/good.der"
cat good.pem root.pem > "$out/good-with-root.pem"
cat root.pem good.pem > "$out/root-then-good.pem"
cp root.pem "$out/root-only.pem"
for n in nopathlen cafalse noku critical nc sha1 v1; do
	cp "$n.pem" "$out/$n.pem"
done
cp pending.csr "$out/csr.pem"
printf 'not a certificate\n' > "$out/garbage.txt"
head -c 300 good.pem > "$out/truncated.pem"
