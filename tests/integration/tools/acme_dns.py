#!/usr/bin/env python3
"""A small authoritative DNS server over UDP for ACME dns-01 tests (stdlib only).

Records live as files in a directory, re-read on every query, so whatever
writes them (a test, or an ACME client's hook) needs no other interface:

    DIR/<name>    one TXT value per line; <name> is the owner name in lower
                  case without the trailing dot, e.g.
                  DIR/_acme-challenge.www.example.test

Serve (stop it by its PID; it prints "listening on ADDR:PORT" once ready):

    acme_dns.py serve --dir DIR --port PORT [--addr 127.0.0.1]
                      [--a 127.0.0.1] [--pidfile FILE]

Answers, with the AA bit, for any name:
  TXT   the lines of DIR/<name> (values over 255 bytes split into several
        character-strings of one record); no file or an empty file: NOERROR
        with no answer (NODATA)
  SOA   a record at the name itself, so a client looking for the zone of a
        name finds one at once
  NS    "ns.<name>."
  A     the --a address, when given
  other types: NOERROR with no answer. Malformed queries get FORMERR.

Change records (the directory comes from --dir or $ACME_DNS_DIR):

    acme_dns.py present FQDN VALUE   add VALUE to FQDN's TXT set
    acme_dns.py cleanup FQDN VALUE   remove it (the file goes when empty)
    acme_dns.py set FQDN [VALUE...]  replace FQDN's TXT set

`present` and `cleanup` are the arguments lego's exec DNS provider passes, so
this file is the provider script itself:

    ACME_DNS_DIR=DIR EXEC_PATH=/path/to/acme_dns.py \\
        lego --dns exec --dns.resolvers 127.0.0.1:PORT ...

(lego's propagation check also asks the zone's nameservers on port 53; turn it
off with --dns.propagation-disable-ans or --dns.disable-cp, depending on the
lego version.) The validating server is pointed at 127.0.0.1:PORT as its
dns-01 resolver.
"""

import argparse
import os
import socket
import struct
import sys

T_A, T_NS, T_SOA, T_TXT = 1, 2, 6, 16
C_IN = 1
MAX_QUERY = 4096
FORMERR = 1


def owner_file(directory, fqdn):
    """The file of a name; refuses names that could leave the directory."""
    name = fqdn.rstrip(".").lower()
    if not name or "/" in name or name.startswith(".") or "\0" in name:
        raise ValueError("bad name %r" % fqdn)
    return os.path.join(directory, name)


def read_values(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\r\n") for line in f if line.strip()]
    except FileNotFoundError:
        return []


def write_values(path, values):
    if not values:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        return
    tmp = path + ".tmp%d" % os.getpid()
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(v + "\n" for v in values))
    os.replace(tmp, path)  # a query never sees half a file


def parse_question(q):
    """(id, flags, labels, qtype, qclass, end) of a query, or None."""
    if len(q) < 12:
        return None
    qid, flags, qdcount = struct.unpack("!HHH", q[:6])
    if flags & 0x8000 or qdcount != 1:
        return None
    labels, o = [], 12
    while True:
        if o >= len(q):
            return None
        n = q[o]
        if n == 0:
            o += 1
            break
        if n > 63 or o + 1 + n > len(q):  # no compression in a question
            return None
        labels.append(q[o + 1:o + 1 + n])
        o += 1 + n
    if o + 4 > len(q):
        return None
    qtype, qclass = struct.unpack("!HH", q[o:o + 4])
    return qid, flags, labels, qtype, qclass, o + 4


def encode_name(labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\0"


def rr(rtype, rdata):
    # owner: a pointer to the question's name at offset 12
    return struct.pack("!HHHIH", 0xC00C, rtype, C_IN, 0, len(rdata)) + rdata


def txt_rdata(value):
    data = value.encode("utf-8")
    chunks = [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]
    return b"".join(bytes([len(c)]) + c for c in chunks)


def answers(args, labels, qtype):
    name = b".".join(labels).decode("ascii", "replace")
    if qtype == T_TXT:
        try:
            values = read_values(owner_file(args.dir, name))
        except ValueError:
            values = []
        return [rr(T_TXT, txt_rdata(v)) for v in values]
    if qtype == T_SOA:
        mname = encode_name([b"ns"] + labels)
        rname = encode_name([b"hostmaster"] + labels)
        return [rr(T_SOA, mname + rname + struct.pack("!IIIII", 1, 60, 60, 600, 0))]
    if qtype == T_NS:
        return [rr(T_NS, encode_name([b"ns"] + labels))]
    if qtype == T_A and args.a:
        return [rr(T_A, socket.inet_aton(args.a))]
    return []


def respond(args, q):
    parsed = parse_question(q)
    if parsed is None:
        if len(q) < 2:
            return None
        return q[:2] + struct.pack("!HHHHH", 0x8000 | FORMERR, 0, 0, 0, 0)
    qid, flags, labels, qtype, qclass, end = parsed
    an = answers(args, labels, qtype) if qclass == C_IN else []
    rflags = 0x8000 | (flags & 0x7800) | 0x0400 | (flags & 0x0100)
    head = struct.pack("!HHHHHH", qid, rflags, 1, len(an), 0, 0)
    return head + q[12:end] + b"".join(an)


def serve(args):
    if not os.path.isdir(args.dir):
        sys.exit("acme_dns.py: no directory %s" % args.dir)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((args.addr, args.port))
    if args.pidfile:
        with open(args.pidfile, "w") as f:
            f.write("%d\n" % os.getpid())
    print("listening on %s:%d" % s.getsockname(), flush=True)
    while True:
        q, peer = s.recvfrom(MAX_QUERY)
        try:
            r = respond(args, q)
        except Exception as e:  # one bad query must not stop the server
            print("acme_dns.py: %s" % e, file=sys.stderr, flush=True)
            r = None
        if r is not None:
            s.sendto(r, peer)


def change(args):
    directory = args.dir or os.environ.get("ACME_DNS_DIR")
    if not directory:
        sys.exit("acme_dns.py: give --dir or set ACME_DNS_DIR")
    try:
        path = owner_file(directory, args.fqdn)
    except ValueError as e:
        sys.exit("acme_dns.py: %s" % e)
    values = read_values(path)
    if args.cmd == "present":
        values = values + [args.value] if args.value not in values else values
    elif args.cmd == "cleanup":
        values = [v for v in values if v != args.value]
    else:
        values = list(args.values)
    write_values(path, values)


def change_args(argv):
    """present|cleanup [--dir D] FQDN VALUE, set [--dir D] FQDN [VALUE...].
    Parsed by hand: a TXT value (base64url) may begin with "-", which
    argparse would take for an option (lego's exec provider passes it as
    it is)."""
    cmd, directory, pos, i = argv[0], None, [], 1
    while i < len(argv):
        if argv[i] == "--dir" and i + 1 < len(argv):
            directory, i = argv[i + 1], i + 2
            continue
        if argv[i].startswith("--dir="):
            directory = argv[i][len("--dir="):]
        else:
            pos.append(argv[i])
        i += 1
    if len(pos) < 1 or (cmd != "set" and len(pos) != 2):
        sys.exit("usage: acme_dns.py %s [--dir DIR] fqdn %s"
                 % (cmd, "[value...]" if cmd == "set" else "value"))
    return argparse.Namespace(cmd=cmd, dir=directory, fqdn=pos[0],
                              value=pos[1] if cmd != "set" else None,
                              values=pos[1:])


def main():
    if len(sys.argv) > 1 and sys.argv[1] in ("present", "cleanup", "set"):
        change(change_args(sys.argv[1:]))
        return
    p = argparse.ArgumentParser(description="DNS server for ACME dns-01 tests")
    sub = p.add_subparsers(dest="cmd", required=True)
    sv = sub.add_parser("serve")
    sv.add_argument("--dir", required=True)
    sv.add_argument("--addr", default="127.0.0.1")
    sv.add_argument("--port", type=int, required=True)
    sv.add_argument("--a", help="address for A queries")
    sv.add_argument("--pidfile")
    serve(p.parse_args())


if __name__ == "__main__":
    main()
