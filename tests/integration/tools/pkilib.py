"""Shared helpers for the integration-test certificate tools.

Deliberately small: keys by subca's type names, and a certificate builder
whose every deviation from a correct CA certificate is an explicit option,
so that each subca refusal can be provoked on purpose.
"""
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

# An OID under the documentation arc nobody implements: an unknown
# critical extension must make RFC 5280 4.2 consumers refuse the cert.
UNKNOWN_OID = x509.ObjectIdentifier("1.3.6.1.4.1.55555.1.1")


def gen_key(kind):
    if kind.startswith("rsa-"):
        return rsa.generate_private_key(65537, int(kind[4:]))
    curves = {"ec-p256": ec.SECP256R1, "ec-p384": ec.SECP384R1,
              "ec-p521": ec.SECP521R1}
    if kind in curves:
        return ec.generate_private_key(curves[kind]())
    if kind == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise SystemExit("unknown key type " + kind)


def load_key(path):
    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), None)


def load_cert(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def write_key(key, path):
    with open(path, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


def write_cert(cert, path):
    with open(path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))


def digest_for(key, name):
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return None
    return {"sha1": hashes.SHA1(), "sha256": hashes.SHA256(),
            "sha384": hashes.SHA384()}[name]


def add_common_args(p):
    """Options shared by every certificate the tools build."""
    p.add_argument("--days", type=int, default=3650)
    p.add_argument("--not-before-days", type=float, default=None,
                   help="notBefore = now + this many days (negative: past)")
    p.add_argument("--not-after-days", type=float, default=None,
                   help="notAfter = now + this many days (overrides --days)")
    p.add_argument("--hash", default="sha256", choices=["sha1", "sha256", "sha384"])
    p.add_argument("--path-len", default="none",
                   help="basicConstraints pathLenConstraint, or 'none'")
    p.add_argument("--no-bc", action="store_true", help="omit basicConstraints")
    p.add_argument("--ca-false", action="store_true", help="CA:FALSE")
    p.add_argument("--bc-noncritical", action="store_true")
    p.add_argument("--no-ku", action="store_true", help="omit keyUsage")
    p.add_argument("--no-keycertsign", action="store_true",
                   help="keyUsage without keyCertSign (digitalSignature only)")
    p.add_argument("--no-ski", action="store_true")
    p.add_argument("--leaf", action="store_true",
                   help="a TLS server leaf: CA:FALSE, digitalSignature, serverAuth")
    p.add_argument("--unknown-critical", action="store_true")
    p.add_argument("--permit-dns", action="append", default=[])
    p.add_argument("--san-dns", action="append", default=[])


def build(args, subject, public_key, issuer_name, issuer_key, issuer_ski,
          extra=()):
    """Build and sign a certificate from the parsed common options."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    nb = now - datetime.timedelta(minutes=1)
    if args.not_before_days is not None:
        nb = now + datetime.timedelta(days=args.not_before_days)
    na = now + datetime.timedelta(days=args.days)
    if args.not_after_days is not None:
        na = now + datetime.timedelta(days=args.not_after_days)
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(issuer_name).public_key(public_key)
         .serial_number(x509.random_serial_number())
         .not_valid_before(nb).not_valid_after(na))
    if args.leaf:
        b = b.add_extension(x509.BasicConstraints(False, None), True)
        b = b.add_extension(x509.KeyUsage(True, False, False, False, False,
                                          False, False, False, False), True)
        b = b.add_extension(x509.ExtendedKeyUsage(
            [x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
    else:
        if not args.no_bc:
            pl = None if args.path_len == "none" else int(args.path_len)
            if args.ca_false:
                pl = None
            b = b.add_extension(x509.BasicConstraints(not args.ca_false, pl),
                                not args.bc_noncritical)
        if not args.no_ku:
            kcs = not args.no_keycertsign
            b = b.add_extension(x509.KeyUsage(True, False, False, False, False,
                                              kcs, kcs, False, False), True)
    if not args.no_ski:
        b = b.add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), False)
    if issuer_ski is not None:
        b = b.add_extension(x509.AuthorityKeyIdentifier(issuer_ski, None, None), False)
    for ext, crit in extra:
        b = b.add_extension(ext, crit)
    if args.permit_dns:
        b = b.add_extension(x509.NameConstraints(
            [x509.DNSName(d) for d in args.permit_dns], None), True)
    if args.san_dns:
        b = b.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName(d) for d in args.san_dns]), False)
    if args.unknown_critical:
        b = b.add_extension(x509.UnrecognizedExtension(UNKNOWN_OID, b"\x05\x00"), True)
    return b.sign(issuer_key, digest_for(issuer_key, args.hash))


def ski_of(cert):
    try:
        return cert.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        return None


def cn_name(cn, org=None):
    attrs = []
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, cn))
    return x509.Name(attrs)
