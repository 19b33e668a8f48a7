#!/usr/bin/env bash
# `make start`: build subca and take a demo root through the whole
# bring-your-own-root flow, end to end, in ./demo:
#   a demo "customer root" made with OpenSSL (standing in for your own root),
#   subca init -> authority create -> root import -> intermediate request ->
#   sign the CSR with the root exactly as `subca intermediate instructions`
#   says -> intermediate import (verified against the root) -> issue a leaf
#   -> verify the chain with OpenSSL against the root alone;
# then start `subca serve` on 127.0.0.1:8443 (another free port if 8443 is
# taken) with its own TLS certificate issued by a separate generated-root
# authority "server-tls", print working curl commands, and stay in the
# foreground until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)

echo "== building subca"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build/release -j "$(nproc 2>/dev/null || echo 2)" --target subca >/dev/null
bin="$top/build/release/subca"

demo="$top/demo"
rm -rf "$demo"
mkdir -p "$demo/customer-root" "$demo/bin"
ln -s "$bin" "$demo/bin/subca"
export PATH="$demo/bin:$PATH"
export SUBCA_DATA="$demo/subca-data"
unset SUBCA_PASSPHRASE

echo "== a demo customer root (your own root CA stands here)"
cd "$demo/customer-root"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes \
  -keyout root.key -out root.crt -days 3650 -subj "/O=Demo Org/CN=Demo Org Root CA" \
  -addext "basicConstraints=critical,CA:true" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" \
  -addext "subjectKeyIdentifier=hash" 2>/dev/null
chmod 600 root.key

echo "== subca init / authority create / root import"
subca init
subca authority create demo
subca root import demo root.crt

echo "== subca intermediate request (the key is generated inside subca)"
subca intermediate request demo --cn "Demo Intermediate CA" --org "Demo Org" \
  --path-len 0 --days 365 --out demo.csr 2>/dev/null

echo "== signing the CSR with the root, as \`subca intermediate instructions demo\` prints:"
subca intermediate instructions demo --tool openssl > sign-with-openssl.sh
sed 's/^/    /' sign-with-openssl.sh
sh sign-with-openssl.sh

echo "== issuing a leaf for localhost"
cd "$demo"
subca issue demo --cn localhost --san DNS:localhost --san IP:127.0.0.1 \
  --days 30 --out-key localhost.key --out-cert localhost.crt
openssl verify -x509_strict -CAfile customer-root/root.crt -untrusted localhost.crt localhost.crt

echo
subca authority show demo
echo
echo "The chain in $demo/localhost.crt:"
openssl crl2pkcs7 -nocrl -certfile localhost.crt | openssl pkcs7 -print_certs -noout | sed 's/^/    /'
cat <<NEXT

What to do next (SUBCA_DATA=$SUBCA_DATA, subca is $bin):
  - Issue more:          subca issue demo --cn app.example --san DNS:app.example --out-key app.key --out-cert app.crt
  - Issue from a CSR:    subca issue demo --csr app.csr --out app-chain.pem
  - Your own root:       subca authority create corp && subca root import corp /path/to/your-root.pem
                         subca intermediate request corp --cn "Corp Issuing CA" --out corp.csr
                         subca intermediate instructions corp --tool openssl|openssl-ca|cfssl|certtool|step|vault|adcs|aws-pca|subca
                         subca intermediate import corp corp.crt
  - Inspect:             subca authority list; subca intermediate list demo; subca audit demo
The demo key store is in development mode (master.key next to the keys);
initialise a real data directory with SUBCA_PASSPHRASE set.
NEXT

echo
echo "== the HTTPS server"
# The server's own certificate comes from an authority kept for that alone.
subca authority create server-tls --generate-root --root-cn "subca demo server TLS Root" >/dev/null 2>&1
port=8443
if ! python3 -c 'import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", int(sys.argv[1])))' "$port" 2>/dev/null; then
  port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
  echo "(port 8443 is taken: using $port)"
fi
# plain HTTP for what clients fetch without TLS: CRLs and OCSP
hport=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
tls_root="$demo/server-tls-root.pem"
log="$demo/serve.log"
subca serve --listen "127.0.0.1:$port" --tls-authority server-tls \
  --tls-root-out "$tls_root" --http-listen "127.0.0.1:$hport" \
  --public-url "http://127.0.0.1:$hport" 2>"$log" &
server=$!
trap 'kill -TERM "$server" 2>/dev/null || true' INT TERM EXIT
for _ in $(seq 1 100); do
  grep -q "subca: listening on" "$log" && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
grep "subca: listening on" "$log"
curl -fsS --cacert "$tls_root" "https://127.0.0.1:$port/healthz" >/dev/null

echo "== an admin token and an API-key provisioner for the sign API"
admin_token=$(subca admin token create --description "make start demo" 2>/dev/null)
api_key=$(subca provisioner add demo services --type apikey \
  --allow-dns "*.demo.test" --max-days 30 2>/dev/null)
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout app.key -subj "/CN=app.demo.test" -addext "subjectAltName=DNS:app.demo.test" \
  -out app.csr 2>/dev/null
python3 -c 'import json, sys; print(json.dumps({"csr": open(sys.argv[1]).read()}))' \
  app.csr >app-sign.json
# the same request the printed command makes, so it is known to work
curl -fsS --cacert "$tls_root" -H "Authorization: Bearer $api_key" \
  -H "Accept: application/pem-certificate-chain" --data-binary @app-sign.json \
  "https://127.0.0.1:$port/a/demo/sign" >app.crt
openssl verify -x509_strict -CAfile customer-root/root.crt -untrusted app.crt app.crt
curl -fsS --cacert "$tls_root" "https://127.0.0.1:$port/a/demo/chain" >intermediate.pem
openssl ocsp -issuer intermediate.pem -cert app.crt \
  -url "http://127.0.0.1:$hport/a/demo/ocsp" -CAfile customer-root/root.crt \
  2>&1 | grep "app.crt: good" >/dev/null
subca provisioner add demo acme --type acme --allow-dns "*.demo.test" >/dev/null 2>&1

cat <<SERVE

subca serve is running (pid $server), its TLS certificate issued by the
"server-tls" authority, whose root is $tls_root.

Admin token (global; shown once, stored hashed):  $admin_token
API key of provisioner "services" on demo (*.demo.test, 30 days at most):  $api_key

Get a certificate over HTTPS (in $demo):
  curl --cacert $tls_root -H "Authorization: Bearer $api_key" \\
       -H "Accept: application/pem-certificate-chain" \\
       --data-binary @app-sign.json https://127.0.0.1:$port/a/demo/sign
  (app-sign.json is {"csr": "<PEM of app.csr>"}; JSON comes back without the Accept header)

The admin API:
  curl --cacert $tls_root -H "Authorization: Bearer $admin_token" https://127.0.0.1:$port/admin/v1/authorities
Revocation (leaves carry these URLs; plain HTTP on port $hport):
  openssl ocsp -issuer intermediate.pem -cert app.crt -CAfile customer-root/root.crt \\
       -url http://127.0.0.1:$hport/a/demo/ocsp
  SUBCA_SERVER=https://127.0.0.1:$port SUBCA_TOKEN=$admin_token SUBCA_CACERT=$tls_root \\
    subca revoke demo \$(openssl x509 -in app.crt -noout -serial | cut -d= -f2) --reason keyCompromise
  (OCSP answers "revoked" at once; the CRL at the leaf's distribution point
  lists it a few seconds later)

ACME directory of provisioner "acme" (*.demo.test; certbot, lego, uacme, Caddy):
  https://127.0.0.1:$port/a/demo/acme/acme/directory

Public endpoints:
  curl --cacert $tls_root https://127.0.0.1:$port/a/demo/chain
  curl --cacert $tls_root https://127.0.0.1:$port/healthz
  curl --cacert $tls_root https://127.0.0.1:$port/metrics
Request logs (one JSON line each) follow; Ctrl-C stops the server.

SERVE
tail -n +1 -f --pid="$server" "$log" || true
wait "$server" 2>/dev/null || true
