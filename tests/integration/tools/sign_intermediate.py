#!/usr/bin/python3
"""Sign an intermediate CA's CSR with a root held as PEM files, the way a
careful operator would with python-cryptography: keeps the CSR's subject and
key, critical basicConstraints CA:TRUE with --path-len, critical keyUsage
keyCertSign+cRLSign+digitalSignature, SKI, AKI copied from the root's SKI,
and the name constraints requested in the CSR's extensionRequest (critical).
Flaw options (pkilib.add_common_args, --key-from-csr, --drop-name-constraints)
produce the broken certificates subca must refuse.

  sign_intermediate.py --root-cert root.crt --root-key root.key \
      --csr int.csr --path-len 0 --out int.crt
"""
import argparse
import os
import sys

from cryptography import x509

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkilib  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--root-cert", required=True)
    p.add_argument("--root-key", required=True)
    p.add_argument("--csr", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--key-from-csr", help="put this other CSR's public key in")
    p.add_argument("--drop-name-constraints", action="store_true")
    pkilib.add_common_args(p)
    a = p.parse_args()

    with open(a.csr, "rb") as f:
        csr = x509.load_pem_x509_csr(f.read())
    if not csr.is_signature_valid:
        raise SystemExit("CSR self-signature does not verify")
    pub = csr.public_key()
    if a.key_from_csr:
        with open(a.key_from_csr, "rb") as f:
            pub = x509.load_pem_x509_csr(f.read()).public_key()
    root = pkilib.load_cert(a.root_cert)
    rkey = pkilib.load_key(a.root_key)

    extra = []
    if not a.drop_name_constraints:
        for ext in csr.extensions:
            if isinstance(ext.value, x509.NameConstraints):
                extra.append((ext.value, True))
    cert = pkilib.build(a, csr.subject, pub, root.subject, rkey,
                        pkilib.ski_of(root), extra)
    pkilib.write_cert(cert, a.out)


if __name__ == "__main__":
    main()
