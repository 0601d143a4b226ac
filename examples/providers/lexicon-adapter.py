#!/usr/bin/python3
# danehook exec adapter (protocol v1, see README.md here) over dns-lexicon (Debian package
# `lexicon`, 3.11.x), which speaks to dozens of hosted DNS APIs. It uses lexicon's Python API, not
# its CLI: the 3.11 CLI accepts only A AAAA CNAME MX NS SOA TXT SRV LOC and rejects TLSA.
#
# Usage (dns.exec.command; credentials come from the environment, named in dns.exec.env):
#   ["/usr/bin/python3", "/usr/share/danehook/examples/providers/lexicon-adapter.py",
#    "--provider", "cloudflare", "--zone", "example.com"]
#   dns.exec.env: ["LEXICON_CLOUDFLARE_AUTH_TOKEN"]
# Options: --provider NAME (a lexicon provider), --zone ZONE (repeatable: the zones this adapter
# writes; a name belongs to the longest one), --opt KEY=VALUE (a non-secret provider option, e.g.
# ddns_server=192.0.2.53), --txt-content plain|quoted (how the provider spells TXT content:
# lexicon's usual unquoted value, or zone-file quoted strings; default quoted for ddns, else
# plain), --ddns-port N (ddns only: lexicon's ddns provider always uses port 53).
#
# Lexicon writes one record per API call: the changes of a zone are NOT applied all-or-nothing,
# so every ok reply says "atomic": false (danehook re-reads DNS after each apply and converges).
import argparse
import json
import re
import sys

VERSION = 1


class AdapterError(Exception):
    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind


def reply(obj, code=0):
    sys.stdout.write(json.dumps({"version": VERSION, **obj}) + "\n")
    sys.stdout.flush()
    sys.exit(code)


# --- presentation form (README.md: "Record data") ----------------------------------------------

QUOTED = re.compile(r'^"(?:[^"\\]|\\.)*"(?: "(?:[^"\\]|\\.)*")*$')


def parse_quoted(text):
    """Zone-file quoted strings → bytes of each string (escapes \\X and \\DDD)."""
    out = []
    for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', text):
        raw, b, i = m.group(1), bytearray(), 0
        while i < len(raw):
            if raw[i] == "\\":
                if raw[i + 1 : i + 4].isdigit() and len(raw[i + 1 : i + 4]) == 3:
                    b.append(int(raw[i + 1 : i + 4]))
                    i += 4
                    continue
                b.extend(raw[i + 1].encode())
                i += 2
                continue
            b.extend(raw[i].encode())
            i += 1
        out.append(bytes(b))
    return out


def quote(value_bytes):
    """Bytes → quoted ≤255-byte strings, `"` `\\` escaped, non-printable as \\DDD."""
    parts = [value_bytes[i : i + 255] for i in range(0, len(value_bytes), 255)] or [b""]
    def one(p):
        s = "".join(chr(c) if 0x20 <= c <= 0x7E and c not in (0x22, 0x5C) else ("\\" + chr(c) if c in (0x22, 0x5C) else "\\%03d" % c) for c in p)
        return '"' + s + '"'
    return " ".join(one(p) for p in parts)


def to_provider_content(rtype, data, txt_mode):
    if rtype == "TLSA":
        if not re.match(r"^\d{1,3} \d{1,3} \d{1,3} [0-9A-Fa-f]+$", data):
            raise AdapterError("invalid", "not TLSA presentation format: %r" % data)
        return data
    if not QUOTED.match(data):
        raise AdapterError("invalid", "not TXT presentation format (quoted strings): %r" % data)
    if txt_mode == "quoted":
        return data
    return b"".join(parse_quoted(data)).decode("utf-8")


def from_provider_content(rtype, content):
    content = str(content).strip()
    if rtype == "TLSA":
        parts = content.split()
        if len(parts) < 4:
            raise AdapterError("invalid", "the provider returned TLSA content danehook cannot read: %r" % content)
        return "%s %s %s %s" % (parts[0], parts[1], parts[2], "".join(parts[3:]).lower())
    if QUOTED.match(content):
        return content  # already zone-file form (ddns, some APIs)
    return quote(content.encode("utf-8"))


# --- lexicon ------------------------------------------------------------------------------------


def client(args, zone, action, rtype, name=None, content=None, ttl=None):
    from lexicon.client import Client
    from lexicon.config import ConfigResolver

    base = zone.rstrip(".")
    conf = {"provider_name": args.provider, "action": action, "domain": base, "delegated": base, "type": rtype}
    if name is not None:
        conf["name"] = name.rstrip(".")
    if content is not None:
        conf["content"] = content
    if ttl is not None:
        conf["ttl"] = ttl
    provider_opts = dict(o.split("=", 1) for o in args.opt)
    if args.provider == "ddns":
        # lexicon 3.11's ddns provider reads the zone from its own option "domain", which the
        # client never sets: without this every create/delete fails in dns.name.from_text(None).
        provider_opts.setdefault("domain", base)
    conf[args.provider] = provider_opts
    return Client(ConfigResolver().with_env().with_dict(conf))


def patch_ddns(args):
    """lexicon's ddns provider ignores the reply's rcode and always uses port 53: fix both here."""
    import dns.query
    import dns.rcode

    original = dns.query.tcp

    def tcp(message, where, timeout=None, port=53, **kw):
        response = original(message, where, timeout=timeout, port=args.ddns_port or port, **kw)
        rcode = response.rcode()
        if rcode in (dns.rcode.REFUSED, dns.rcode.NOTAUTH):
            raise AdapterError("auth", "%s:%s answered %s" % (where, args.ddns_port or port, dns.rcode.to_text(rcode)))
        if rcode in (dns.rcode.YXDOMAIN, dns.rcode.YXRRSET, dns.rcode.NXRRSET):
            raise AdapterError("conflict", "%s answered %s" % (where, dns.rcode.to_text(rcode)))
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise AdapterError("invalid", "%s answered %s" % (where, dns.rcode.to_text(rcode)))
        return response

    dns.query.tcp = tcp


def zone_of(args, name):
    n = name.lower()
    best = None
    for z in args.zone:
        z = z.lower().rstrip(".") + "."
        if (n == z or n.endswith("." + z)) and (best is None or len(z) > len(best)):
            best = z
    if best is None:
        raise AdapterError("invalid", "%s is in none of the adapter's --zone zones" % name)
    return best


def check_name(name):
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.*-]+\.$", name):
        raise AdapterError("invalid", "not an absolute domain name: %r" % (name,))
    return name.lower()


def check_type(t):
    if t not in ("TLSA", "TXT"):
        raise AdapterError("invalid", "type %r: this adapter handles TLSA and TXT" % (t,))
    return t


def op_list(args, req):
    rtype = check_type(req.get("type"))
    rrsets = []
    for name in [check_name(n) for n in req.get("names", [])]:
        records = client(args, zone_of(args, name), "list", rtype, name).execute()
        data, ttl = [], None
        for r in records:
            if r.get("type") != rtype or str(r.get("name", "")).rstrip(".").lower() != name.rstrip("."):
                continue
            d = from_provider_content(rtype, r.get("content"))
            if d not in data:
                data.append(d)
            ttl = int(r["ttl"]) if r.get("ttl") is not None else ttl
        # ttl is null exactly when there are no records (README.md); a provider without TTLs says 0.
        rrsets.append({"name": name, "ttl": (ttl or 0) if data else None, "type": rtype, "data": data})
    reply({"rrsets": rrsets})


def op_apply(args, req):
    zone = check_name(req.get("zone"))
    changes = req.get("changes") or []
    done = 0
    try:
        for c in changes:
            name, rtype = check_name(c.get("name")), check_type(c.get("type"))
            if zone_of(args, name) != zone:
                raise AdapterError("invalid", "%s is not in zone %s" % (name, zone))
            content = to_provider_content(rtype, c.get("data"), args.txt_content)
            if c.get("op") == "create":
                client(args, zone, "create", rtype, name, content, int(c.get("ttl"))).execute()
            elif c.get("op") == "delete":
                client(args, zone, "delete", rtype, name, content).execute()
            else:
                raise AdapterError("invalid", "op %r: create or delete" % (c.get("op"),))
            done += 1
    except AdapterError as e:
        if done:
            e.args = ("%s (after %d of %d changes were applied: lexicon is not atomic)" % (e.args[0], done, len(changes)),)
        raise
    reply({"ok": True, "atomic": False})


def op_check(args, req):
    zone = check_name(req.get("zone"))
    c = client(args, zone, "list", "TXT", zone)
    # authenticate() is where lexicon providers look the zone up with the credentials (most API
    # providers); then one read. Nothing is written.
    c.provider.authenticate()
    c.provider.list_records("TXT", zone.rstrip("."))
    reply({"ok": True, "atomic": False})


def classify(err):
    """Any exception → (kind, message)."""
    if isinstance(err, AdapterError):
        return err.kind, str(err)
    name = type(err).__name__
    msg = "%s: %s" % (name, err)
    try:
        from lexicon.exceptions import AuthenticationError, ProviderNotAvailableError
        if isinstance(err, AuthenticationError):
            return "auth", msg
        if isinstance(err, ProviderNotAvailableError):
            return "invalid", msg
    except ImportError:
        return "invalid", "the lexicon Python package is not installed (apt-get install lexicon)"
    try:
        import requests
        if isinstance(err, requests.exceptions.HTTPError) and err.response is not None:
            status = err.response.status_code
            if status in (401, 403):
                return "auth", msg
            if status == 409:
                return "conflict", msg
            if status >= 500 or status == 429:
                return "unreachable", msg
            return "invalid", msg
        if isinstance(err, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return "unreachable", msg
    except ImportError:
        pass
    if name in ("PeerBadKey", "PeerBadSignature", "PeerBadTime", "PeerBadTruncation", "BadSignature"):
        return "auth", msg
    if name == "Timeout" or isinstance(err, (ConnectionError, TimeoutError, OSError)):
        return "unreachable", msg
    return "invalid", msg


def main():
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--provider", required=True)
    p.add_argument("--zone", action="append", default=[])
    p.add_argument("--opt", action="append", default=[])
    p.add_argument("--txt-content", choices=("plain", "quoted"))
    p.add_argument("--ddns-port", type=int)
    try:
        args = p.parse_args()
    except SystemExit:
        reply({"error": {"kind": "invalid", "message": "adapter usage: --provider NAME --zone ZONE [--opt K=V] [--txt-content plain|quoted]"}}, 1)
    if not args.zone:
        reply({"error": {"kind": "invalid", "message": "adapter usage: give at least one --zone"}}, 1)
    args.txt_content = args.txt_content or ("quoted" if args.provider == "ddns" else "plain")
    try:
        req = json.loads(sys.stdin.read())
        if not isinstance(req, dict) or req.get("version") != VERSION:
            raise AdapterError("invalid", "protocol version %r not supported (this adapter speaks %d)" % (req.get("version") if isinstance(req, dict) else None, VERSION))
        if args.provider == "ddns":
            patch_ddns(args)
        {"list": op_list, "apply": op_apply, "check": op_check}.get(req.get("op"), lambda a, r: (_ for _ in ()).throw(AdapterError("invalid", "unknown op %r" % (r.get("op"),))))(args, req)
    except SystemExit:
        raise
    except BaseException as err:  # every failure becomes an error reply
        kind, message = classify(err)
        sys.stderr.write("lexicon-adapter: %s\n" % message)
        reply({"error": {"kind": kind, "message": message[:2000]}}, 1)


if __name__ == "__main__":
    main()
