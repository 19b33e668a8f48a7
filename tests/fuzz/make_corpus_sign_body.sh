#!/bin/sh
# Regenerate the seed corpus of fuzz_sign_body: request bodies of POST
# /sign, /renew and /revoke (docs/api.md "Sign API"), valid ones with a real
# CSR (a fresh P-256 key each run) and near misses: truncated, wrong types,
# unknown members, huge numbers, nested objects, invalid UTF-8, NUL.
set -eu

out=$(cd "$(dirname "$0")" && pwd)/corpus/sign_body
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	-out "$tmp/k.pem" 2>/dev/null
openssl req -new -key "$tmp/k.pem" -subj "/CN=a.example.test" \
	-addext "subjectAltName=DNS:a.example.test" -out "$tmp/csr.pem"
openssl req -new -key "$tmp/k.pem" -subj "/CN=ca.example.test" \
	-addext "basicConstraints=critical,CA:TRUE" -out "$tmp/ca.pem"

python3 - "$out" "$tmp/csr.pem" "$tmp/ca.pem" <<'PY'
import json, os, sys

out, csr, ca = sys.argv[1], open(sys.argv[2]).read(), open(sys.argv[3]).read()
tok = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJvcHMifQ.c2ln"

def seed(name, b):
    if not isinstance(b, bytes):
        b = b.encode() if isinstance(b, str) else json.dumps(b).encode()
    open(os.path.join(out, name), "wb").write(b)

seed("sign-csr", {"csr": csr})
seed("sign-all", {"csr": csr, "token": tok, "days": 30})
seed("sign-ca-csr", {"csr": ca, "days": 1})
seed("renew-empty", b"")
seed("renew-object", {})
seed("renew-csr-days", {"csr": csr, "days": 7})
seed("revoke-serial", {"serial": "5f2c01", "reason": "keyCompromise"})
seed("revoke-token", {"serial": "000A0b", "token": tok})
seed("revoke-64-digits", {"serial": "f" * 64})
seed("revoke-65-digits", {"serial": "f" * 65})
seed("revoke-remove-from-crl", {"serial": "1", "reason": "removeFromCRL"})
seed("truncated", json.dumps({"csr": csr, "days": 30})[:200])
seed("truncated-pem", {"csr": csr[: len(csr) // 2]})
seed("wrong-types", {"csr": 1, "token": ["x"], "days": "30"})
seed("days-real", {"csr": csr, "days": 30.0})
seed("days-zero", {"csr": csr, "days": 0})
seed("days-bool", {"csr": csr, "days": True})
seed("serial-number", {"serial": 12345})
seed("reason-object", {"serial": "1", "reason": {"code": 1}})
seed("unknown-member", {"csr": csr, "colour": "red"})
seed("duplicate", '{"csr":"a","csr":"b"}')
seed("huge-int", '{"csr":"x","days":123456789012345678901234567890}')
seed("huge-real", '{"serial":"1","days":1e999}')
seed("days-limit", '{"csr":"x","days":100000}')
seed("days-past-limit", '{"csr":"x","days":100001}')
seed("negative", '{"csr":"x","days":-9223372036854775808}')
seed("nested", {"csr": {"csr": {"csr": csr}}, "token": {"a": [1, {"b": None}]}})
seed("deep", "[" * 3000 + "]" * 3000)
seed("not-object", [{"csr": csr}])
seed("invalid-utf8", b'{"csr":"\xc3\x28","token":"\xff\xfe"}')
seed("overlong-utf8", b'{"serial":"\xc0\xaf"}')
seed("nul-escape", '{"csr":"-----BEGIN\\u0000CERTIFICATE REQUEST-----","token":"a\\u0000b"}')
seed("surrogate", '{"token":"\\ud800","serial":"\\udfff"}')
seed("token-at-cap", {"csr": "x", "token": "a" * 8192})
seed("token-past-cap", {"csr": "x", "token": "a" * 8193})
seed("whitespace", " \t\r\n{ \"serial\" : \"ab\" } \n")
seed("trailing", '{"serial":"ab"} {}')
PY
