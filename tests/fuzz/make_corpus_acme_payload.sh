#!/bin/sh
# Regenerate the seed corpus of fuzz_acme_payload
# (tests/fuzz/fuzz_acme_payload.c): newAccount, newOrder and finalize
# payloads. The CSRs are signed with the RFC 8037 A.1 Ed25519 test key
# (deterministic), for names inside fuzz_acme_payload.c's policy.
set -eu
out=$(cd "$(dirname "$0")" && pwd)/corpus/acme_payload
mkdir -p "$out"
python3 - "$out" <<'PY'
import base64, json, os, sys
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

out = sys.argv[1]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
d = base64.urlsafe_b64decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
key = ed25519.Ed25519PrivateKey.from_private_bytes(d)

def csr(names):
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
    b = b.add_extension(x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in names]), critical=False)
    return b64(b.sign(key, None).public_bytes(serialization.Encoding.DER))

def seed(name, obj):
    with open(os.path.join(out, name), "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))

ids = [{"type": "dns", "value": "a.example.test"},
       {"type": "dns", "value": "www.example.test"}]
seed("account", {"termsOfServiceAgreed": True,
                 "contact": ["mailto:ops@example.test"]})
seed("account-bad-contact", {"contact": ["tel:+1", "mailto:a@b?subject=x"]})
seed("order-finalize", {"identifiers": ids,
                        "notAfter": "2026-02-01T00:00:00Z",
                        "csr": csr(["a.example.test", "www.example.test"])})
seed("order-other-csr", {"identifiers": ids[:1],
                         "csr": csr(["a.example.test", "evil.example.test"])})
seed("order-ip", {"identifiers": [{"type": "ip", "value": "10.1.2.3"},
                                  {"type": "ip", "value": "2001:db8::1"}]})
seed("order-wildcard", {"identifiers": [{"type": "dns",
                                         "value": "*.example.test"}],
                        "notBefore": "2026-01-01T00:00:00+01:00"})
seed("order-refused", {"identifiers": [{"type": "dns", "value": "evil.test"},
                                       {"type": "email", "value": "a@b"},
                                       {"type": "dns", "value": "EXAMPLE..test"}]})
seed("order-duplicate", {"identifiers": ids + ids[:1]})
seed("order-bad-time", {"identifiers": ids, "notAfter": "yesterday"})
seed("empty", {})
PY
