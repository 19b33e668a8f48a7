#!/bin/sh
# Regenerate the seed corpus of fuzz_acme_jws (tests/fuzz/fuzz_acme_jws.c):
# ACME request bodies (flattened JWS) signed with the RFC 8037 A.1 Ed25519
# test key, which signs deterministically, so the seeds are the same on
# every run: newAccount with a jwk, a kid request, POST-as-GET, a keyChange
# with its inner JWS, and broken envelopes.
set -eu
out=$(cd "$(dirname "$0")" && pwd)/corpus/acme_jws
mkdir -p "$out"
python3 - "$out" <<'PY'
import base64, json, os, sys
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization

out = sys.argv[1]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
d = base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
key = ed25519.Ed25519PrivateKey.from_private_bytes(d)
x = key.public_key().public_bytes(serialization.Encoding.Raw,
                                  serialization.PublicFormat.Raw)
jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64(x)}
base = "https://ca.example/a/demo/acme/acme"
nonce = "AAAAAAAAAAEAAAAAaVXEGvL4LhRqh5JCS7Mc9Mb0bJ0"

def jws(prot, payload):
    p = b64(json.dumps(prot).encode())
    y = "" if payload is None else b64(json.dumps(payload).encode())
    s = b64(key.sign(f"{p}.{y}".encode()))
    return {"protected": p, "payload": y, "signature": s}

def seed(name, obj):
    with open(os.path.join(out, name), "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))

seed("new-account", jws({"alg": "EdDSA", "jwk": jwk, "nonce": nonce,
                         "url": base + "/new-account"},
                        {"termsOfServiceAgreed": True,
                         "contact": ["mailto:a@example.test"]}))
kid = base + "/account/abc"
seed("kid-order", jws({"alg": "EdDSA", "kid": kid, "nonce": nonce,
                       "url": base + "/new-order"},
                      {"identifiers": [{"type": "dns", "value": "a.example.test"}]}))
seed("post-as-get", jws({"alg": "EdDSA", "kid": kid, "nonce": nonce,
                         "url": base + "/order/xyz"}, None))
inner = jws({"alg": "EdDSA", "jwk": jwk, "url": base + "/key-change"},
            {"account": kid, "oldKey": jwk})
p = b64(json.dumps({"alg": "EdDSA", "kid": kid, "nonce": nonce,
                    "url": base + "/key-change"}).encode())
y = b64(json.dumps(inner).encode())
seed("key-change", {"protected": p, "payload": y,
                    "signature": b64(key.sign(f"{p}.{y}".encode()))})
seed("unprotected-header", dict(jws({"alg": "EdDSA", "jwk": jwk},
                                    {}), header={"kid": "x"}))
seed("alg-none", jws({"alg": "none", "jwk": jwk}, {}))
seed("missing-signature", {"protected": "e30", "payload": ""})
seed("not-object", "[1,2,3]")
seed("duplicate", '{"protected":"e30","protected":"e30","payload":"","signature":"AA"}')
seed("bad-base64", {"protected": "e30=", "payload": "!!", "signature": "AA"})
PY
