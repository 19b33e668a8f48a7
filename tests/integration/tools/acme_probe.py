#!/usr/bin/env python3
"""A small ACME client for subca's protocol tests: each subcommand runs one
scenario against a directory and exits non-zero with a message when the
server's answer is not the expected one. Only the Python standard library
and python3-cryptography."""
import base64, hashlib, hmac, http.client, http.server, json, ssl, sys
import threading, time, urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def ub64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def jwk_of(key):
    pub = key.public_key()
    if isinstance(key, ec.EllipticCurvePrivateKey):
        n = pub.public_numbers()
        size = (key.curve.key_size + 7) // 8
        return {"crv": "P-256" if size == 32 else "P-384", "kty": "EC",
                "x": b64(n.x.to_bytes(size, "big")),
                "y": b64(n.y.to_bytes(size, "big"))}
    if isinstance(key, rsa.RSAPrivateKey):
        n = pub.public_numbers()
        return {"e": b64(n.e.to_bytes((n.e.bit_length() + 7) // 8, "big")),
                "kty": "RSA",
                "n": b64(n.n.to_bytes((n.n.bit_length() + 7) // 8, "big"))}
    raw = pub.public_bytes(serialization.Encoding.Raw,
                           serialization.PublicFormat.Raw)
    return {"crv": "Ed25519", "kty": "OKP", "x": b64(raw)}


def thumbprint(key):
    return b64(hashlib.sha256(json.dumps(jwk_of(key), sort_keys=True,
                                         separators=(",", ":")).encode()).digest())


def alg_of(key):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ES256" if key.curve.key_size == 256 else "ES384"
    return "RS256" if isinstance(key, rsa.RSAPrivateKey) else "EdDSA"


def sign(key, data):
    if isinstance(key, ec.EllipticCurvePrivateKey):
        h = hashes.SHA256() if key.curve.key_size == 256 else hashes.SHA384()
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(h)))
        size = (key.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return key.sign(data)


class Fail(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise Fail(what)


class Client:
    def __init__(self, directory, cafile, key=None):
        self.dir_url = directory
        u = urllib.parse.urlsplit(directory)
        self.host, self.port = u.hostname, u.port
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.key = key or ec.generate_private_key(ec.SECP256R1())
        self.kid = None
        self.nonce = None
        self.dir = self.get(directory)[2]

    def request(self, method, url, body=None, ctype="application/jose+json"):
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx)
        u = urllib.parse.urlsplit(url)
        path = u.path + ("?" + u.query if u.query else "")
        headers = {"Content-Type": ctype} if body is not None else {}
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        data = r.read()
        hdrs = {}
        for k, v in r.getheaders():
            k = k.lower()
            hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
        if "replay-nonce" in hdrs:
            self.nonce = hdrs["replay-nonce"]
        try:
            doc = json.loads(data) if data and b"{" in data[:1] else data
        except ValueError:
            doc = data
        return r.status, hdrs, doc

    def get(self, url):
        return self.request("GET", url)

    def new_nonce(self):
        s, h, _ = self.request("HEAD", self.dir["newNonce"])
        expect(s == 200 and "replay-nonce" in h, "newNonce HEAD")
        return h["replay-nonce"]

    def jws(self, url, payload, key=None, kid=None, jwk=False, nonce=None,
            alg=None, header_url=None, tamper=False, extra=None):
        key = key or self.key
        prot = {"alg": alg or alg_of(key), "url": header_url or url,
                "nonce": nonce or self.nonce or self.new_nonce()}
        if jwk:
            prot["jwk"] = jwk_of(key)
        else:
            prot["kid"] = kid or self.kid
        if extra:
            prot.update(extra)
        p64 = b64(json.dumps(prot).encode())
        y64 = "" if payload is None else b64(json.dumps(payload).encode()
                                             if not isinstance(payload, bytes)
                                             else payload)
        sig = sign(key, f"{p64}.{y64}".encode())
        if tamper:
            sig = bytes([sig[0] ^ 1]) + sig[1:]
        return json.dumps({"protected": p64, "payload": y64,
                           "signature": b64(sig)})

    def post(self, url, payload, **kw):
        self.nonce = kw.pop("nonce", None) or self.nonce
        return self.request("POST", url, self.jws(url, payload, **kw))

    def register(self, **extra):
        payload = {"termsOfServiceAgreed": True}
        payload.update(extra)
        s, h, d = self.post(self.dir["newAccount"], payload, jwk=True)
        expect(s in (200, 201), f"newAccount: {s} {d}")
        self.kid = h["location"]
        return s, d


def problem(resp, status, typ, what):
    s, h, d = resp
    expect(s == status and isinstance(d, dict) and
           d.get("type") == "urn:ietf:params:acme:error:" + typ,
           f"{what}: expected {status} {typ}, got {s} {d}")
    expect("replay-nonce" in h, f"{what}: no Replay-Nonce with the problem")
    return d


class Responder:
    """http-01 answers on 127.0.0.1:port; `answers` maps token -> body."""

    def __init__(self, port):
        answers = self.answers = {}

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                tok = self.path.rsplit("/", 1)[-1]
                body = answers.get(tok, "nope").encode()
                self.send_response(200 if tok in answers else 404)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.srv = http.server.HTTPServer(("127.0.0.1", port), H)
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()


def csr_for(names, key=None, cn=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(n) for n in names]
    b = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn or names[0])]))
    b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def poll(c, url, until, tries=40):
    for _ in range(tries):
        s, _, d = c.post(url, None)
        expect(s == 200, f"poll {url}: {s} {d}")
        if d["status"] in until:
            return d
        time.sleep(0.25)
    raise Fail(f"{url} stayed {d['status']}")


def order(c, names, resp, answer_right=True):
    s, h, o = c.post(c.dir["newOrder"],
                     {"identifiers": [{"type": "dns", "value": n} for n in names]})
    expect(s == 201 and o["status"] == "pending", f"newOrder: {s} {o}")
    url = h["location"]
    for az in o["authorizations"]:
        s, _, a = c.post(az, None)
        ch = [x for x in a["challenges"] if x["type"] == "http-01"][0]
        ka = ch["token"] + "." + thumbprint(c.key)
        resp.answers[ch["token"]] = ka if answer_right else "wrong." + ka
        s, h2, d = c.post(ch["url"], {})
        expect(s == 200 and d["status"] in ("processing", "valid", "invalid"),
               f"challenge: {s} {d}")
        expect("up" in h2.get("link", ""), "challenge without Link rel=up")
    return url


# ---- scenarios ---------------------------------------------------------------

def s_accounts(c, args):
    """newAccount (201, then 200 for the same key), onlyReturnExisting,
    contact update, every JWS algorithm."""
    s, d = c.register(contact=["mailto:ops@example.test"])
    expect(s == 201 and d["status"] == "valid", f"first newAccount {s}")
    s, h, d = c.post(c.dir["newAccount"], {}, jwk=True)
    expect(s == 200 and h["location"] == c.kid, "same key gives 200 + Location")
    other = ec.generate_private_key(ec.SECP256R1())
    problem(c.post(c.dir["newAccount"], {"onlyReturnExisting": True},
                   key=other, jwk=True), 400, "accountDoesNotExist",
            "onlyReturnExisting")
    s, _, d = c.post(c.kid, {"contact": ["mailto:new@example.test"]})
    expect(s == 200 and d["contact"] == ["mailto:new@example.test"],
           f"contact update: {s} {d}")
    problem(c.post(c.kid, {"contact": ["tel:+1"]}), 400,
            "unsupportedContact", "tel: contact")
    for k in (ec.generate_private_key(ec.SECP384R1()),
              rsa.generate_private_key(65537, 2048),
              ed25519.Ed25519PrivateKey.generate()):
        s, _, d = c.post(c.dir["newAccount"], {"termsOfServiceAgreed": True},
                         key=k, jwk=True)
        expect(s == 201, f"newAccount with {alg_of(k)}: {s} {d}")


def s_jws(c, args):
    """Bad envelopes: each the right problem, none changes anything."""
    c.register()
    url = c.dir["newOrder"]
    ids = {"identifiers": [{"type": "dns", "value": "a.example.test"}]}
    problem(c.post(url, ids, tamper=True), 403, "unauthorized",
            "wrong signature")
    problem(c.post(url, ids, header_url=c.dir["newAccount"]), 403,
            "unauthorized", "wrong url")
    problem(c.post(url, ids, kid=c.kid + "x"), 400, "accountDoesNotExist",
            "unknown kid")
    n = c.new_nonce()
    s, _, _ = c.post(url, ids, nonce=n)
    expect(s == 201, f"first use of a nonce: {s}")
    d = problem(c.post(url, ids, nonce=n), 400, "badNonce", "replayed nonce")
    expect(c.nonce != n, "badNonce came with a fresh nonce")
    problem(c.post(url, ids, nonce="AAAA"), 400, "badNonce", "made-up nonce")
    problem(c.post(url, ids, alg="PS256"), 400, "badSignatureAlgorithm",
            "PS256")
    problem(c.post(url, ids, alg="none"), 400, "badSignatureAlgorithm",
            "alg none")
    problem(c.post(url, ids, alg="HS256"), 400, "badSignatureAlgorithm",
            "HS256")
    problem(c.post(url, ids, alg="ES384"), 403, "unauthorized",
            "alg not the key's")
    problem(c.post(url, ids, jwk=True), 400, "malformed",
            "jwk where a kid is needed")
    big = {"identifiers": [{"type": "dns", "value": "x" * 60 + ".example.test"}
                           for _ in range(120)]}
    problem(c.post(url, big), 413, "malformed", "oversized payload")
    s, _, d = c.request("POST", url, c.jws(url, ids), ctype="application/json")
    expect(s == 400 and d.get("type", "").endswith(":malformed"),
           f"wrong content type: {s} {d}")
    problem(c.post(url, {"identifiers": [{"type": "email", "value": "a@b"}]}),
            400, "unsupportedIdentifier", "email identifier")
    d = problem(c.post(url, {"identifiers": [
        {"type": "dns", "value": "ok.example.test"},
        {"type": "dns", "value": "evil.test"},
        {"type": "dns", "value": "evil2.test"}]}), 400, "rejectedIdentifier",
        "names outside the policy")
    sub = d.get("subproblems", [])
    expect(len(sub) == 2 and sub[0]["identifier"]["value"] == "evil.test",
           f"one subproblem per refused identifier: {sub}")


def s_flow(c, args):
    """http-01 answered wrongly -> invalid, no certificate; answered right
    -> finalize with other names is badCSR, with the right names valid;
    the chain downloads; orders list; renewalInfo; revocation."""
    resp = Responder(int(args[0]))
    c.register()
    bad = order(c, ["wrong.example.test"], resp, answer_right=False)
    o = poll(c, bad, ("invalid", "ready"))
    expect(o["status"] == "invalid", f"wrongly answered order: {o}")
    s, _, a = c.post(o["authorizations"][0], None)
    ch = a["challenges"][0]
    expect(a["status"] == "invalid" and
           ch["error"]["type"].endswith(":incorrectResponse"),
           f"challenge error: {a}")
    problem(c.post(o["finalize"], {"csr": b64(csr_for(["wrong.example.test"]))}),
            403, "orderNotReady", "finalize of an invalid order")
    url = order(c, ["good.example.test", "www.good.example.test"], resp)
    o = poll(c, url, ("ready", "invalid"))
    expect(o["status"] == "ready", f"order: {o}")
    problem(c.post(o["finalize"], {"csr": b64(csr_for(["good.example.test",
                                                       "evil.example.test"]))}),
            400, "badCSR", "a CSR with another name")
    problem(c.post(o["finalize"], {"csr": b64(csr_for(["good.example.test"]))}),
            400, "badCSR", "a CSR with a name missing")
    problem(c.post(o["finalize"], {"csr": "AAAA"}), 400, "badCSR",
            "garbage CSR")
    problem(c.post(o["finalize"], {"csr": b64(csr_for(
        ["good.example.test", "www.good.example.test"],
        cn="other.example.test"))}), 400, "badCSR", "a CN outside the order")
    s, _, o = c.post(o["finalize"],
                     {"csr": b64(csr_for(["www.good.example.test",
                                          "good.example.test"]))})
    expect(s == 200 and o["status"] == "valid" and "certificate" in o,
           f"finalize: {s} {o}")
    s, h, pem = c.post(o["certificate"], None)
    expect(s == 200 and h["content-type"] == "application/pem-certificate-chain"
           and pem.count(b"BEGIN CERTIFICATE") >= 2, f"certificate: {s}")
    with open(args[1], "wb") as f:
        f.write(pem)
    s, _, lst = c.post(c.kid + "/orders", None)
    expect(s == 200 and url in lst["orders"] and bad in lst["orders"],
           f"orders list: {lst}")
    leaf = x509.load_pem_x509_certificate(pem)
    aki = leaf.extensions.get_extension_for_class(
        x509.AuthorityKeyIdentifier).value.key_identifier
    sn = leaf.serial_number
    cid = b64(aki) + "." + b64(sn.to_bytes((sn.bit_length() + 8) // 8, "big"))
    s, h, ri = c.get(c.dir["renewalInfo"] + "/" + cid)
    expect(s == 200 and "suggestedWindow" in ri and "retry-after" in h,
           f"renewalInfo: {s} {ri}")
    der = leaf.public_bytes(serialization.Encoding.DER)
    stranger = Client(c.dir_url, args[2])
    stranger.register()
    problem(stranger.post(c.dir["revokeCert"], {"certificate": b64(der)}),
            403, "unauthorized", "revocation by another account")
    s, _, _ = c.post(c.dir["revokeCert"], {"certificate": b64(der),
                                           "reason": 4})
    expect(s == 200, f"revokeCert: {s}")
    problem(c.post(c.dir["revokeCert"], {"certificate": b64(der)}), 400,
            "alreadyRevoked", "second revocation")


def s_keychange(c, args):
    """keyChange (RFC 8555 7.3.5): the new key works, the old one not."""
    c.register()
    new = ec.generate_private_key(ec.SECP384R1())
    url = c.dir["keyChange"]
    inner_prot = b64(json.dumps({"alg": alg_of(new), "jwk": jwk_of(new),
                                 "url": url}).encode())
    inner_pay = b64(json.dumps({"account": c.kid,
                                "oldKey": jwk_of(c.key)}).encode())
    inner = {"protected": inner_prot, "payload": inner_pay,
             "signature": b64(sign(new, f"{inner_prot}.{inner_pay}".encode()))}
    s, _, d = c.post(url, inner)
    expect(s == 200, f"keyChange: {s} {d}")
    problem(c.post(c.kid, None), 403, "unauthorized", "the old key after a change")
    c.key = new
    s, _, d = c.post(c.kid, None)
    expect(s == 200 and d["status"] == "valid", f"the new key: {s} {d}")
    s, _, d = c.post(c.kid, {"status": "deactivated"})
    expect(s == 200 and d["status"] == "deactivated", f"deactivate: {d}")
    problem(c.post(c.dir["newOrder"], {"identifiers": [
        {"type": "dns", "value": "a.example.test"}]}), 403, "unauthorized",
        "a deactivated account")


def s_nonce_save(c, args):
    with open(args[0], "w") as f:
        f.write(c.new_nonce())
    c.register()
    with open(args[1], "w") as f:
        f.write(c.kid)
    with open(args[2], "wb") as f:
        f.write(c.key.private_bytes(serialization.Encoding.PEM,
                                    serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))


def s_nonce_after_restart(c, args):
    n = open(args[0]).read()
    c.kid = open(args[1]).read()
    c.key = serialization.load_pem_private_key(open(args[2], "rb").read(), None)
    problem(c.post(c.kid, None, nonce=n), 400, "badNonce",
            "a nonce from before the restart")
    s, _, _ = c.post(c.kid, None)
    expect(s == 200, "the fresh nonce works")


def alternate_links(h):
    """The URLs of the Link rel="alternate" header fields (RFC 8555 7.4.2)."""
    import re
    return re.findall(r'<([^>]+)>\s*;\s*rel="alternate"', h.get("link", ""))


def s_alternates(c, args):
    """One certificate; its default chain and every alternate chain named by
    a Link rel="alternate" (each POST-as-GET, each linking back to the
    others) into OUT.0.pem, OUT.1.pem, ...; at least `want` alternates."""
    resp = Responder(int(args[0]))
    out, want = args[1], int(args[2])
    c.register()
    url = order(c, ["alt.example.test"], resp)
    o = poll(c, url, ("ready", "invalid"))
    expect(o["status"] == "ready", f"order: {o}")
    s, _, o = c.post(o["finalize"], {"csr": b64(csr_for(["alt.example.test"]))})
    expect(s == 200 and o["status"] == "valid", f"finalize: {s} {o}")
    s, h, pem = c.post(o["certificate"], None)
    expect(s == 200 and h["content-type"] == "application/pem-certificate-chain",
           f"certificate: {s} {pem}")
    alts = alternate_links(h)
    expect(len(alts) >= want, f"expected {want} alternate chain(s), got {h}")
    chains = [pem]
    for u in alts:
        s, h2, p2 = c.post(u, None)
        expect(s == 200 and p2.count(b"BEGIN CERTIFICATE") >= 2,
               f"alternate {u}: {s} {p2}")
        back = alternate_links(h2)
        expect(o["certificate"] in back, f"alternate {u} does not link back "
               f"to the default chain: {h2}")
        expect(p2 != pem and p2.split(b"-----END CERTIFICATE-----")[0] ==
               pem.split(b"-----END CERTIFICATE-----")[0],
               f"alternate {u}: not the same leaf with another chain")
        chains.append(p2)
    problem(c.post(o["certificate"] + "/999999", None), 404, "malformed",
            "an alternate that does not exist")
    stranger = Client(c.dir_url, args[3])
    stranger.register()
    for u in [o["certificate"]] + alts:
        s, _, _ = stranger.post(u, None)
        expect(s == 404, f"another account fetched {u}: {s}")
    for i, p in enumerate(chains):
        with open(f"{out}.{i}.pem", "wb") as f:
            f.write(p)


SCENARIOS = {"alternates": s_alternates, "accounts": s_accounts, "jws": s_jws, "flow": s_flow,
             "keychange": s_keychange, "nonce-save": s_nonce_save,
             "nonce-after-restart": s_nonce_after_restart}

if __name__ == "__main__":
    name, directory, cafile = sys.argv[1:4]
    try:
        SCENARIOS[name](Client(directory, cafile), sys.argv[4:] + [cafile])
    except Fail as e:
        print(f"acme_probe {name}: {e}", file=sys.stderr)
        sys.exit(1)
