#!/bin/sh
# Regenerate the seed corpora of fuzz_certin, fuzz_csr and fuzz_root with the
# openssl CLI. Dates are fixed (openssl ca -startdate/-enddate) around the
# fuzz targets' "now" of 2026-01-01, so the seeds never expire. Seeds stay
# small: EC keys, fewer than 20 files per corpus, each under 8 KiB.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out_certin="$here/corpus/certin"
out_csr="$here/corpus/csr"
out_root="$here/corpus/root"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"

mkdir -p newcerts "$out_certin" "$out_csr" "$out_root"
: > index.txt
echo 1000 > serial
cat > ca.cnf <<CNF
[ ca ]
default_ca = ca_default
[ ca_default ]
dir = $work
database = $work/index.txt
new_certs_dir = $work/newcerts
serial = $work/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[ policy_any ]
organizationName = optional
commonName = supplied
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_root ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_root_pathlen0 ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ v3_debian_ca ]
basicConstraints = critical,CA:TRUE
subjectKeyIdentifier = hash
[ v3_leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
CNF

key() { openssl genpkey -algorithm "$@" 2>/dev/null; }
ec() { key EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
csr() { openssl req -new -config ca.cnf -key "$1" -subj "$2" -out "$3"; }
# sign NAME CSR ISSUER_CERT|self ISSUER_KEY EXTENSIONS|none [START END MD]
sign() {
	name=$1 req=$2 icert=$3 ikey=$4 ext=$5
	start=${6:-20250101000000Z} end=${7:-20350101000000Z} md=${8:-sha256}
	set -- -batch -config ca.cnf -notext -in "$req" -out "$name" \
		-keyfile "$ikey" -startdate "$start" -enddate "$end" -md "$md"
	if [ "$icert" = self ]; then set -- "$@" -selfsign; else set -- "$@" -cert "$icert"; fi
	if [ "$ext" != none ]; then set -- "$@" -extensions "$ext"; fi
	openssl ca "$@" 2>/dev/null
}

ec root.key; ec ca.key; ec other.key; ec leaf.key
key ED25519 -out ed.key
key RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024.key
csr root.key "/O=Example/CN=Example Root" root.csr
csr ca.key "/O=Example/CN=Example Signing CA" ca.csr
csr other.key "/CN=Other Root" other.csr
csr leaf.key "/CN=www.example.com" leaf.csr
csr ed.key "/CN=Ed25519 Root" ed.csr
csr rsa1024.key "/CN=Small Root" rsa1024.csr

sign root.pem root.csr self root.key v3_root
sign ca.pem ca.csr root.pem root.key v3_root
sign other.pem other.csr self other.key v3_root
sign ed.pem ed.csr self ed.key v3_root
sign root-v1.pem root.csr self root.key none
sign root-sha1.pem root.csr self root.key v3_root 20250101000000Z 20350101000000Z sha1
sign root-expired.pem root.csr self root.key v3_root 20200101000000Z 20210101000000Z
sign root-nokeyusage.pem root.csr self root.key v3_debian_ca
sign root-pathlen0.pem root.csr self root.key v3_root_pathlen0
sign ca-below-pathlen0.pem ca.csr root-pathlen0.pem root.key v3_root
sign leaf-selfsigned.pem leaf.csr self leaf.key v3_leaf
sign rsa1024.pem rsa1024.csr self rsa1024.key v3_root

crlf() { sed 's/$/\r/' "$1"; }

# certin: every accepted encoding and every refusal
c=$out_certin
cp root.pem "$c/root.pem"
openssl x509 -in root.pem -outform DER -out "$c/root.der"
crlf root.pem > "$c/root-crlf.pem"
printf '\357\273\277' | cat - root.pem > "$c/root-bom.pem"
cat root.pem ca.pem > "$c/bundle.pem"
openssl x509 -in root.pem -text > "$c/root-text.txt"
openssl x509 -in root.pem -trustout -addtrust serverAuth > "$c/root-trusted.pem"
openssl crl2pkcs7 -nocrl -certfile "$c/bundle.pem" -outform DER -out "$c/bundle.p7b"
openssl pkcs7 -inform DER -in "$c/bundle.p7b" -out p7.pem
crlf p7.pem > "$c/bundle-p7-crlf.pem"
cp ed.pem "$c/ed25519.pem"
cat root.pem root.key > "$c/cert-and-key.pem"
openssl pkey -in root.key -outform DER -out "$c/key.der"
openssl pkcs8 -topk8 -in root.key -passout pass:secret -v2 aes-256-cbc > "$c/key-encrypted.pem"
cp root.csr "$c/csr.pem"
openssl ca -batch -config ca.cnf -gencrl -cert root.pem -keyfile root.key -crldays 30 -out "$c/crl.pem" 2>/dev/null
sed '/END CERTIFICATE/d' root.pem > "$c/truncated.pem"
printf 'this is not a certificate\n' > "$c/garbage.txt"
printf '' > "$c/empty"

# csr
s=$out_csr
cp root.csr "$s/csr.pem"
openssl req -in root.csr -outform DER -out "$s/csr.der"
crlf root.csr > "$s/csr-crlf.pem"
sed 's/CERTIFICATE REQUEST/NEW CERTIFICATE REQUEST/' root.csr > "$s/csr-new.pem"
cp ed.csr "$s/csr-ed25519.pem"
cp rsa1024.csr "$s/csr-rsa1024.pem"
cat root.csr ca.csr > "$s/two-csrs.pem"
cp root.pem "$s/cert.pem"
cat root.csr root.key > "$s/csr-and-key.pem"
openssl req -in root.csr -outform DER | head -c 100 > "$s/csr-truncated.der"

# root: accepted chains and every refusal
r=$out_root
cp root.pem "$r/root.pem"
cat ca.pem root.pem > "$r/bundle-reversed.pem"
cp ca.pem "$r/top-not-self-signed.pem"
cp ed.pem "$r/ed25519.pem"
cp root-v1.pem "$r/v1.pem"
cp root-sha1.pem "$r/sha1.pem"
cp root-expired.pem "$r/expired.pem"
cp root-nokeyusage.pem "$r/no-keyusage.pem"
cat root-pathlen0.pem ca-below-pathlen0.pem > "$r/pathlen0-bundle.pem"
cp leaf-selfsigned.pem "$r/leaf.pem"
cp rsa1024.pem "$r/rsa1024.pem"
cat root.pem other.pem > "$r/unrelated.pem"
cat other.pem ca.pem > "$r/ca-with-wrong-root.pem"
openssl x509 -in root.pem -outform DER -out "$r/root.der"

for d in "$out_certin" "$out_csr" "$out_root"; do
	echo "$(ls "$d" | wc -l) seeds in $d"
done
