#!/usr/bin/python3
"""Make a test certificate: a self-signed root by default, or one signed by
--issuer-cert/--issuer-key (a signing CA below a root, a look-alike, a leaf).
Every flaw is opt-in (see pkilib.add_common_args).

  make_cert.py --key ec-p256 --cn "Test Root" --out-cert root.crt --out-key root.key
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pkilib  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--key", default="ec-p256", help="key type to generate")
    p.add_argument("--use-key", help="reuse this PEM private key instead")
    p.add_argument("--cn", required=True)
    p.add_argument("--org")
    p.add_argument("--issuer-cert")
    p.add_argument("--issuer-key")
    p.add_argument("--out-cert", required=True)
    p.add_argument("--out-key")
    pkilib.add_common_args(p)
    a = p.parse_args()

    key = pkilib.load_key(a.use_key) if a.use_key else pkilib.gen_key(a.key)
    subject = pkilib.cn_name(a.cn, a.org)
    if a.issuer_cert:
        icert = pkilib.load_cert(a.issuer_cert)
        ikey = pkilib.load_key(a.issuer_key)
        iname, iski = icert.subject, pkilib.ski_of(icert)
    else:
        ikey, iname, iski = key, subject, None
    cert = pkilib.build(a, subject, key.public_key(), iname, ikey, iski)
    pkilib.write_cert(cert, a.out_cert)
    if a.out_key:
        pkilib.write_key(key, a.out_key)


if __name__ == "__main__":
    main()
