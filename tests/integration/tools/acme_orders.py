#!/usr/bin/env python3
"""ACME scenarios beyond acme_probe.py's, with its client: IP identifiers
(RFC 8738) through http-01 and tls-alpn-01 with a challenge server of our
own, identifiers refused at newOrder (malformed, policy, name constraints),
and one account running many orders, or many finalize calls on one order,
in parallel. Each subcommand exits non-zero with a message when an answer
is not the expected one.

  acme_orders.py SCENARIO DIRECTORY CAFILE [ARGS...]
"""
import hashlib, http.server, ipaddress, os, re, socket, socketserver, ssl
import sys, tempfile, threading, time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from acme_probe import (Client, Fail, b64, expect, problem,  # noqa: E402
                        thumbprint)

ACME_IDENTIFIER = ObjectIdentifier("1.3.6.1.5.5.7.1.31")  # RFC 8737 3


def have_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def reverse_name(ip):
    """RFC 8738 6: the tls-alpn-01 SNI of an IP identifier."""
    return ipaddress.ip_address(ip).reverse_pointer


def ident(value):
    try:
        ipaddress.ip_address(value)
        return {"type": "ip", "value": value}
    except ValueError:
        return {"type": "dns", "value": value}


def csr_for(names):
    """A CSR naming `names` in SANs only (IP addresses as iPAddress), with
    an empty subject as RFC 8738 clients send."""
    key = ec.generate_private_key(ec.SECP256R1())
    sans = []
    for n in names:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(n)))
        except ValueError:
            sans.append(x509.DNSName(n))
    b = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([]))
    b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    return b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def names_of(pem):
    leaf = x509.load_pem_x509_certificate(pem)
    san = leaf.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    return leaf, sorted([str(v) for v in san.get_values_for_type(x509.DNSName)] +
                        [str(v) for v in san.get_values_for_type(x509.IPAddress)])


class Statuses:
    """Every status the server answered, to assert that none was a 5xx."""

    def __init__(self):
        self.lock = threading.Lock()
        self.bad = []

    def watch(self, c):
        orig = c.request

        def request(*a, **kw):
            r = orig(*a, **kw)
            if r[0] >= 500:
                with self.lock:
                    self.bad.append((a[0], a[1], r[0], r[2]))
            return r
        c.request = request
        return c


# ---- challenge servers -------------------------------------------------------

class HTTPResponder:
    """http-01 answers on each of `hosts` at `port`; token -> body."""

    def __init__(self, port, hosts):
        answers = self.answers = {}
        self.seen = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                tok = self.path.rsplit("/", 1)[-1]
                self.server.owner.seen.append(self.headers.get("Host"))
                body = answers.get(tok, "nope").encode()
                self.send_response(200 if tok in answers else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        for h in hosts:
            fam = socket.AF_INET6 if ":" in h else socket.AF_INET

            class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
                address_family = fam
                daemon_threads = True
            srv = S((h, port), H)
            srv.owner = self
            threading.Thread(target=srv.serve_forever, daemon=True).start()


class ALPNResponder:
    """tls-alpn-01 (RFC 8737, RFC 8738 6) on each of `hosts` at `port`:
    the certificate for the SNI the validator sends, if we expect that SNI;
    every SNI seen is kept."""

    def __init__(self, port, hosts):
        self.ctxs = {}
        self.seen = []
        self.dir = tempfile.mkdtemp()
        base = self._ctx()
        base.sni_callback = self._sni
        self.base = base
        for h in hosts:
            fam = socket.AF_INET6 if ":" in h else socket.AF_INET
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((h, port))
            s.listen(16)
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    @staticmethod
    def _ctx():
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        c.set_alpn_protocols(["acme-tls/1"])
        return c

    def _sni(self, sock, name, ctx):
        self.seen.append(name)
        if name not in self.ctxs:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        sock.context = self.ctxs[name]
        return None

    def _serve(self, s):
        while True:
            conn, _ = s.accept()
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        try:
            conn.settimeout(5)
            t = self.base.wrap_socket(conn, server_side=True)
            t.close()
        except (ssl.SSLError, OSError):
            conn.close()

    def expect(self, ip, key_authz):
        """Answer for IP identifier `ip` with `key_authz` (RFC 8737 3: a
        self-signed certificate with the identifier as its only SAN and a
        critical acmeIdentifier holding SHA-256 of the key authorization)."""
        key = ec.generate_private_key(ec.SECP256R1())
        digest = hashlib.sha256(key_authz.encode()).digest()
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "alpn")])
        now = time.time()
        import datetime
        t0 = datetime.datetime.fromtimestamp(now - 60, datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(t0).not_valid_after(t0 + datetime.timedelta(days=1))
                .add_extension(x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address(ip))]), critical=False)
                .add_extension(x509.UnrecognizedExtension(
                    ACME_IDENTIFIER, b"\x04\x20" + digest), critical=True)
                .sign(key, hashes.SHA256()))
        cf = os.path.join(self.dir, ip.replace(":", "_") + ".crt")
        kf = os.path.join(self.dir, ip.replace(":", "_") + ".key")
        with open(cf, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(kf, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        ctx = self._ctx()
        ctx.load_cert_chain(cf, kf)
        self.ctxs[reverse_name(ip)] = ctx


# ---- one order -----------------------------------------------------------------

def poll(c, url, until, tries=80):
    for _ in range(tries):
        s, _, d = c.post(url, None)
        expect(s == 200, f"poll {url}: {s} {d}")
        if d["status"] in until:
            return d
        time.sleep(0.25)
    raise Fail(f"{url} stayed {d['status']}")


def new_order(c, names):
    s, h, o = c.post(c.dir["newOrder"], {"identifiers": [ident(n) for n in names]})
    expect(s == 201 and o["status"] == "pending", f"newOrder {names}: {s} {o}")
    return h["location"], o


def answer(c, o, kind, http=None, alpn=None):
    """Answer every authorization of order `o` with its `kind` challenge."""
    for az in o["authorizations"]:
        s, _, a = c.post(az, None)
        expect(s == 200, f"authz: {s} {a}")
        types = [x["type"] for x in a["challenges"]]
        if a["identifier"]["type"] == "ip":
            expect("dns-01" not in types,
                   f"dns-01 offered for IP {a['identifier']}: {types}")
        ch = [x for x in a["challenges"] if x["type"] == kind]
        expect(ch, f"{kind} not offered for {a['identifier']}: {types}")
        ka = ch[0]["token"] + "." + thumbprint(c.key)
        if kind == "http-01":
            http.answers[ch[0]["token"]] = ka
        else:
            alpn.expect(a["identifier"]["value"], ka)
        s, _, d = c.post(ch[0]["url"], {})
        expect(s == 200, f"challenge {kind}: {s} {d}")


def finalize(c, url, names):
    o = poll(c, url, ("ready", "invalid"))
    expect(o["status"] == "ready", f"order {names}: {o}")
    s, _, o = c.post(o["finalize"], {"csr": b64(csr_for(names))})
    expect(s == 200 and o["status"] == "valid", f"finalize {names}: {s} {o}")
    s, _, pem = c.post(o["certificate"], None)
    expect(s == 200 and pem.count(b"BEGIN CERTIFICATE") >= 2,
           f"certificate of {names}: {s}")
    return pem


# ---- scenarios -------------------------------------------------------------------

def s_ip(c, args):
    """ip HTTP_PORT ALPN_PORT OUTDIR: a certificate for 127.0.0.1 (and ::1
    when this machine has IPv6 loopback) through http-01 and through
    tls-alpn-01 each; OUTDIR/ip-ADDR-CHALL.pem. The tls-alpn-01 SNI must be
    the reverse-DNS name."""
    ips = ["127.0.0.1"] + (["::1"] if have_ipv6_loopback() else [])
    http = HTTPResponder(int(args[0]), ips)
    alpn = ALPNResponder(int(args[1]), ips)
    c.register()
    for ip in ips:
        for kind in ("http-01", "tls-alpn-01"):
            url, o = new_order(c, [ip])
            answer(c, o, kind, http, alpn)
            pem = finalize(c, url, [ip])
            _, names = names_of(pem)
            expect(names == [ip], f"{ip} by {kind}: leaf names {names}")
            tag = ip.replace(":", "_")
            with open(os.path.join(args[2], f"ip-{tag}-{kind}.pem"), "wb") as f:
                f.write(pem)
        expect(reverse_name(ip) in alpn.seen,
               f"tls-alpn-01 SNI for {ip}: saw {alpn.seen}, want "
               f"{reverse_name(ip)}")
    want_hosts = {"127.0.0.1:" + args[0]} | (
        {"[::1]:" + args[0]} if "::1" in ips else set())
    expect(want_hosts <= set(http.seen),
           f"http-01 Host headers {http.seen}, want {want_hosts}")
    print(" ".join(ips))


def one_sub(d, value, typ, words):
    sub = [p for p in d.get("subproblems", [])
           if p.get("identifier", {}).get("value") == value]
    expect(len(sub) == 1 and
           sub[0]["type"] == "urn:ietf:params:acme:error:" + typ and
           all(w in sub[0].get("detail", "") for w in words),
           f"subproblem for {value}: want {typ} with {words}, got {sub}")


def s_refused(c, args):
    """Identifiers refused at newOrder, each asserted exactly: malformed IP
    addresses, an IP where only dns-01 is offered (DNSONLY directory), a
    wildcard where dns-01 is not (HTTPONLY directory), and no http-01 in a
    wildcard's or dns-01 in an IP's authorization."""
    dnsonly, httponly = args[0], args[1]
    c.register()
    url = c.dir["newOrder"]
    for bad, fam in (("1.2.3", "IPv4"), ("::g", "IPv6")):
        d = problem(c.post(url, {"identifiers": [{"type": "ip", "value": bad}]}),
                    400, "malformed", f"ip {bad}")
        expect(f"not an {fam} address" in d["detail"], f"detail: {d}")
        one_sub(d, bad, "malformed", [bad, "RFC 8738"])
    s, _, o = c.post(url, {"identifiers": [{"type": "dns",
                                            "value": "*.w.example.test"}]})
    expect(s == 201, f"wildcard order: {s} {o}")
    s, _, a = c.post(o["authorizations"][0], None)
    types = [x["type"] for x in a["challenges"]]
    expect(types == ["dns-01"] and a.get("wildcard") is True,
           f"wildcard authz offers {types}")
    s, _, o = c.post(url, {"identifiers": [{"type": "ip", "value": "127.0.0.1"}]})
    expect(s == 201, f"ip order: {s} {o}")
    s, _, a = c.post(o["authorizations"][0], None)
    types = sorted(x["type"] for x in a["challenges"])
    expect(types == ["http-01", "tls-alpn-01"], f"ip authz offers {types}")

    d2 = Client(dnsonly, args[-1], key=c.key)
    d2.register()
    d = problem(d2.post(d2.dir["newOrder"], {"identifiers": [
        {"type": "ip", "value": "127.0.0.1"}]}), 400, "rejectedIdentifier",
        "ip with only dns-01")
    one_sub(d, "127.0.0.1", "rejectedIdentifier",
            ["needs http-01 or tls-alpn-01", "RFC 8738 7"])
    h2 = Client(httponly, args[-1], key=c.key)
    h2.register()
    d = problem(h2.post(h2.dir["newOrder"], {"identifiers": [
        {"type": "dns", "value": "*.w.example.test"}]}), 400,
        "rejectedIdentifier", "wildcard without dns-01")
    one_sub(d, "*.w.example.test", "rejectedIdentifier", ["needs dns-01"])


def s_constraints(c, args):
    """One order, four refusals of two kinds, one answer: policy (evil.test,
    10.1.1.1) and the intermediate's name constraints (x.bad.example.test,
    127.0.0.66) each a rejectedIdentifier subproblem naming its identifier;
    then each constraint alone. Prints the account's orders URL."""
    c.register()
    url = c.dir["newOrder"]
    ids = ["ok.example.test", "evil.test", "x.bad.example.test", "10.1.1.1",
           "127.0.0.66"]
    d = problem(c.post(url, {"identifiers": [ident(v) for v in ids]}), 400,
                "rejectedIdentifier", "policy and constraints")
    expect(len(d.get("subproblems", [])) == 4, f"4 subproblems: {d}")
    expect("see subproblems" in d["detail"], f"detail: {d}")
    one_sub(d, "evil.test", "rejectedIdentifier", ["evil.test"])
    one_sub(d, "10.1.1.1", "rejectedIdentifier", ["10.1.1.1"])
    one_sub(d, "x.bad.example.test", "rejectedIdentifier",
            ["DNS:x.bad.example.test", "outside the name constraints"])
    one_sub(d, "127.0.0.66", "rejectedIdentifier",
            ["IP:127.0.0.66", "outside the name constraints"])
    for v, shown in (("x.bad.example.test", "DNS:x.bad.example.test"),
                     ("127.0.0.66", "IP:127.0.0.66")):
        d = problem(c.post(url, {"identifiers": [ident(v)]}), 400,
                    "rejectedIdentifier", v)
        expect(shown in d["detail"] and "name constraints" in d["detail"],
               f"detail for {v}: {d}")
        one_sub(d, v, "rejectedIdentifier", [shown])
    s, _, lst = c.post(c.kid + "/orders", None)
    expect(s == 200 and lst["orders"] == [], f"orders made anyway: {lst}")


def orders_of(c):
    """The account's whole orders list, following Link rel="next"."""
    s, _, acct = c.post(c.kid, None)
    expect(s == 200, f"account: {s}")
    url, got, pages = acct["orders"], [], 0
    while url:
        s, h, d = c.post(url, None)
        expect(s == 200 and isinstance(d.get("orders"), list),
               f"orders page {url}: {s} {d}")
        got += d["orders"]
        pages += 1
        expect(pages < 100, "orders pages do not end")
        m = re.search(r'<([^>]+)>\s*;\s*rel="next"', h.get("link", ""))
        url = m.group(1) if m else None
    expect(len(set(got)) == len(got), f"an order listed twice: {got}")
    return got, acct["orders"], pages


def s_parallel(c, args):
    """parallel HTTP_PORT N OUTDIR: one account, N orders at once (a thread
    and a connection each), each to a valid certificate naming exactly its
    own identifiers; N distinct certificates; the orders list holds all N
    once each; no answer was a 5xx. Prints the number of list pages."""
    n = int(args[1])
    http = HTTPResponder(int(args[0]), ["127.0.0.1"])
    st = Statuses()
    st.watch(c)
    c.register()
    results, errors = [None] * n, []
    go = threading.Barrier(n)

    def run(i):
        try:
            me = st.watch(Client(c.dir_url, args[-1], key=c.key))
            me.kid = c.kid
            names = [f"p{i}.example.test", f"www.p{i}.example.test"]
            go.wait()
            url, o = new_order(me, names)
            answer(me, o, "http-01", http=http)
            pem = finalize(me, url, names)
            leaf, got = names_of(pem)
            expect(got == sorted(names), f"order {i}: names {got} != {names}")
            results[i] = (url, leaf.serial_number, pem)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"order {i}: {e!r}")

    ts = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    expect(not errors, "; ".join(errors))
    expect(not st.bad, f"5xx answers: {st.bad}")
    serials = {r[1] for r in results}
    expect(len(serials) == n, f"{len(serials)} distinct certificates of {n}")
    listed, url, pages = orders_of(c)
    missing = [r[0] for r in results if r[0] not in listed]
    expect(not missing and len(listed) == n,
           f"orders list has {len(listed)} in {pages} pages, missing {missing}")
    d = problem(c.post(url + "?cursor=..", None), 400, "malformed",
                "a made-up cursor")
    expect("cursor" in d["detail"], f"detail: {d}")
    print(pages)
    for i, r in enumerate(results):
        with open(os.path.join(args[2], f"par-{i}.pem"), "wb") as f:
            f.write(r[2])


def s_race(c, args):
    """race HTTP_PORT ORDERS CALLS: for each of ORDERS ready orders, CALLS
    finalize requests at once: exactly one gets the valid order, every
    other orderNotReady, never a 5xx. Prints the number of certificates
    handed out."""
    orders, calls = int(args[1]), int(args[2])
    http = HTTPResponder(int(args[0]), ["127.0.0.1"])
    st = Statuses()
    c.register()
    issued = 0
    for k in range(orders):
        names = [f"race{k}.example.test"]
        url, o = new_order(c, names)
        answer(c, o, "http-01", http=http)
        o = poll(c, url, ("ready", "invalid"))
        expect(o["status"] == "ready", f"order {k}: {o}")
        csr = b64(csr_for(names))
        clients = []
        for _ in range(calls):
            me = st.watch(Client(c.dir_url, args[-1], key=c.key))
            me.kid = c.kid
            me.nonce = me.new_nonce()
            clients.append(me)
        go = threading.Barrier(calls)
        out = [None] * calls

        def run(i):
            body = clients[i].jws(o["finalize"], {"csr": csr})
            go.wait()
            out[i] = clients[i].request("POST", o["finalize"], body)

        ts = [threading.Thread(target=run, args=(i,)) for i in range(calls)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        won = [r for r in out if r[0] == 200]
        lost = [r for r in out if r[0] != 200]
        expect(len(won) == 1 and won[0][2]["status"] == "valid",
               f"order {k}: {len(won)} finalize calls succeeded: "
               f"{[(r[0], r[2]) for r in out]}")
        for r in lost:
            problem(r, 403, "orderNotReady", f"order {k}: a losing finalize")
        issued += len(won)
        o = poll(c, url, ("valid",))
        s, _, pem = c.post(o["certificate"], None)
        expect(s == 200 and names_of(pem)[1] == names, f"order {k}: {pem!r}")
    expect(not st.bad, f"5xx answers: {st.bad}")
    print(issued)


SCENARIOS = {"ip": s_ip, "refused": s_refused, "constraints": s_constraints,
             "parallel": s_parallel, "race": s_race}

if __name__ == "__main__":
    name, directory, cafile = sys.argv[1:4]
    try:
        SCENARIOS[name](Client(directory, cafile), sys.argv[4:] + [cafile])
    except Fail as e:
        print(f"acme_orders {name}: {e}", file=sys.stderr)
        sys.exit(1)
