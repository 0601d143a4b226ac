#!/usr/bin/env node
// danehook exec adapter (protocol v1, see README.md here) that drives BIND's `dig` and `nsupdate`:
// list = one `dig +norec` per batch of names at the primary; apply = one `nsupdate` transaction
// (a single RFC 2136 UPDATE, all-or-nothing; several, reported non-atomic, beyond 64 KiB) per zone; check = an empty UPDATE, which proves the
// server is reachable, authoritative for the zone and accepts the TSIG key, and changes nothing.
//
// Usage (in dns.exec.command; danehook passes no environment unless dns.exec.env names it):
//   ["/usr/bin/node", "/usr/share/danehook/examples/providers/nsupdate-adapter.mjs",
//    "--server", "192.0.2.53:53", "--key-file", "/etc/danehook/tsig.key",
//    "--dig", "/usr/bin/dig", "--nsupdate", "/usr/bin/nsupdate", "--timeout", "5"]
// The key file is a BIND key file (tsig-keygen); its secret never appears on a command line.
// Plain Node (>= 18), no dependencies.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const VERSION = 1;
const BATCH = 500; // names per dig run: keeps argv far below ARG_MAX

function reply(obj, code = 0) {
  process.stdout.write(`${JSON.stringify({ version: VERSION, ...obj })}\n`);
  process.exitCode = code;
}
function fail(kind, message) {
  reply({ error: { kind, message } }, 1);
}
class AdapterError extends Error {
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function parseArgs(argv) {
  const opts = { dig: '/usr/bin/dig', nsupdate: '/usr/bin/nsupdate', timeout: 5 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new AdapterError('invalid', `adapter usage: ${flag} needs a value`);
    if (flag === '--server') opts.server = value;
    else if (flag === '--key-file') opts.keyFile = value;
    else if (flag === '--dig') opts.dig = value;
    else if (flag === '--nsupdate') opts.nsupdate = value;
    else if (flag === '--timeout') opts.timeout = Number(value);
    else throw new AdapterError('invalid', `adapter usage: unknown option ${flag}`);
  }
  if (!opts.server || !opts.keyFile) throw new AdapterError('invalid', 'adapter usage: --server HOST[:PORT] and --key-file FILE are required');
  if (!(opts.timeout > 0)) throw new AdapterError('invalid', 'adapter usage: --timeout takes seconds > 0');
  // "host", "host:port", "[v6]:port" or a bare IPv6 address.
  const bracket = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(opts.server);
  const plain = /^([A-Za-z0-9_.-]+)(?::(\d+))?$/.exec(opts.server);
  if (bracket || plain) [opts.host, opts.port] = [(bracket ?? plain)[1], (bracket ?? plain)[2] ?? '53'];
  else if (/^[0-9A-Fa-f:.]+$/.test(opts.server)) [opts.host, opts.port] = [opts.server, '53'];
  else throw new AdapterError('invalid', `adapter usage: bad --server ${opts.server}`);
  return opts;
}

// nsupdate reads commands line by line: a name or data holding a newline (or any control
// character) could smuggle in commands of its own, so every field is checked before use.
const NAME = /^(?:[A-Za-z0-9_*-](?:[A-Za-z0-9_-]{0,62})\.)*[A-Za-z0-9_-]{0,63}\.$/;
function checkName(name, what) {
  if (typeof name !== 'string' || !NAME.test(name) || name.length > 254) throw new AdapterError('invalid', `${what}: not an absolute domain name: ${JSON.stringify(name)}`);
  return name.toLowerCase();
}
function checkType(type) {
  if (type !== 'TLSA' && type !== 'TXT') throw new AdapterError('invalid', `type ${JSON.stringify(type)}: this adapter handles TLSA and TXT`);
  return type;
}
function checkData(type, data) {
  if (typeof data !== 'string' || /[\x00-\x1f\x7f]/.test(data)) throw new AdapterError('invalid', `data must be one line of presentation format: ${JSON.stringify(data)}`);
  if (type === 'TLSA' && !/^\d{1,3} \d{1,3} \d{1,3} [0-9A-Fa-f]+$/.test(data)) throw new AdapterError('invalid', `not TLSA presentation format: ${JSON.stringify(data)}`);
  if (type === 'TXT' && !/^"(?:[^"\\]|\\.)*"(?: "(?:[^"\\]|\\.)*")*$/.test(data)) throw new AdapterError('invalid', `not TXT presentation format (quoted strings): ${JSON.stringify(data)}`);
  return data;
}
const inZone = (name, zone) => zone === '.' || name === zone || name.endsWith(`.${zone}`);

function run(file, args, input, opts) {
  // The adapter's own deadline is inside danehook's: dig/nsupdate each get --timeout seconds.
  const r = spawnSync(file, args, { input, encoding: 'utf8', timeout: (opts.timeout * 3 + 5) * 1000, env: {}, maxBuffer: 64 << 20 });
  if (r.error) {
    if (r.error.code === 'ETIMEDOUT') throw new AdapterError('unreachable', `${file} did not finish in time`);
    throw new AdapterError('invalid', `cannot run ${file}: ${r.error.code ?? r.error.message}`);
  }
  return r;
}

// --- list -------------------------------------------------------------------------------------

function list(req, opts) {
  const type = checkType(req.type);
  if (!Array.isArray(req.names)) throw new AdapterError('invalid', 'names must be a list');
  const names = req.names.map((n) => checkName(n, 'names'));
  const rrsets = [];
  for (let i = 0; i < names.length; i += BATCH) rrsets.push(...digBatch(names.slice(i, i + BATCH), type, opts));
  reply({ rrsets });
}

function digBatch(names, type, opts) {
  const args = ['-p', opts.port, `@${opts.host}`, '+norec', '+noall', '+comments', '+question', '+answer', '+nosplit', `+time=${opts.timeout}`, '+tries=2'];
  for (const n of names) args.push(n, type);
  const r = run(opts.dig, args, '', opts);
  const out = r.stdout;
  if (/connection timed out|no servers could be reached|communications error|connection refused/i.test(out + r.stderr)) {
    throw new AdapterError('unreachable', `dig at ${opts.host}:${opts.port}: ${firstLine(out + r.stderr, /timed out|no servers|communications error|refused/i)}`);
  }
  const blocks = out.split(/^;; Got answer:$/m).slice(1);
  const byName = new Map();
  for (const block of blocks) {
    const status = /status: ([A-Z]+)/.exec(block)?.[1];
    const flags = /^;; flags: ([a-z ]*);/m.exec(block)?.[1]?.split(' ') ?? [];
    const question = /^;;? ?QUESTION SECTION:\n;(\S+)\s+IN\s+(\S+)/m.exec(block);
    if (!status || !question) throw new AdapterError('invalid', `dig printed something this adapter cannot read: ${block.slice(0, 200)}`);
    const qname = question[1].toLowerCase();
    if (status === 'REFUSED' || status === 'NOTAUTH') throw new AdapterError('auth', `${opts.host}:${opts.port} answered ${status} for ${qname} ${type}`);
    if (status !== 'NOERROR' && status !== 'NXDOMAIN') throw new AdapterError('invalid', `${opts.host}:${opts.port} answered ${status} for ${qname} ${type}`);
    if (!flags.includes('aa')) throw new AdapterError('invalid', `${opts.host}:${opts.port} is not authoritative for ${qname} (no AA flag): --server must be the zone's primary`);
    let ttl = null;
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(';')) continue;
      // owner TTL class type rdata ("+nosplit": TLSA hex in one piece; TXT as quoted strings, \DDD escapes)
      const m = /^(\S+)\s+(\d+)\s+IN\s+(\S+)\s+(.*)$/.exec(line);
      if (!m) throw new AdapterError('invalid', `dig printed an answer this adapter cannot read: ${line.slice(0, 200)}`);
      if (m[3] !== type) continue; // e.g. a CNAME the server followed inside its zone
      ttl = Number(m[2]);
      data.push(type === 'TLSA' ? m[4].trim().toLowerCase() : m[4].trim());
    }
    byName.set(qname, { name: qname, ttl, type, data: [...new Set(data)] });
  }
  return names.map((n) => {
    const rs = byName.get(n);
    if (!rs) throw new AdapterError('invalid', `dig printed no answer for ${n} ${type}`);
    return rs;
  });
}

// --- apply and check ----------------------------------------------------------------------------

function apply(req, opts) {
  const zone = checkName(req.zone, 'zone');
  if (!Array.isArray(req.changes) || req.changes.length === 0) throw new AdapterError('invalid', 'changes must be a non-empty list');
  const lines = req.changes.map((c, i) => {
    const name = checkName(c.name, `changes[${i}].name`);
    if (!inZone(name, zone)) throw new AdapterError('invalid', `changes[${i}]: ${name} is not in zone ${zone}`);
    const type = checkType(c.type);
    const data = checkData(type, c.data);
    if (c.op === 'delete') return `update delete ${name} ${type} ${data}`;
    if (c.op !== 'create') throw new AdapterError('invalid', `changes[${i}].op ${JSON.stringify(c.op)}: create or delete`);
    if (!Number.isInteger(c.ttl) || c.ttl < 0 || c.ttl > 2147483647) throw new AdapterError('invalid', `changes[${i}].ttl must be an integer`);
    return `update add ${name} ${c.ttl} ${type} ${data}`;
  });
  const messages = chunkBySize(lines);
  nsupdate(zone, messages, opts);
  // One UPDATE message: the server applies all of it or none (RFC 2136 §3.7). Several: each is
  // atomic, the whole is not — say so, and danehook re-reads DNS and converges after a failure.
  reply({ ok: true, atomic: messages.length === 1 });
}

// An UPDATE message holds at most 64 KiB (nsupdate: "ran out of space"). A line's length bounds
// its record's wire size (hex is twice its bytes, names are compressed), so lines are packed into
// messages of at most MESSAGE_TEXT_BYTES of text each.
const MESSAGE_TEXT_BYTES = 48 * 1024;
function chunkBySize(lines) {
  const messages = [[]];
  let size = 0;
  for (const line of lines) {
    if (size + line.length > MESSAGE_TEXT_BYTES && messages.at(-1).length > 0) {
      messages.push([]);
      size = 0;
    }
    messages.at(-1).push(line);
    size += line.length + 1;
  }
  return messages;
}

function check(req, opts) {
  const zone = checkName(req.zone, 'zone');
  // An UPDATE without prerequisites or updates: NOERROR (signed with our key) or the reason why not.
  nsupdate(zone, [[]], opts);
  reply({ ok: true, atomic: true });
}

/** One nsupdate run; one `send` (one UPDATE message) per list of update lines. nsupdate stops at the first failed send. */
function nsupdate(zone, messages, opts) {
  const script = [`server ${opts.host} ${opts.port}`, `zone ${zone}`, ...messages.flatMap((m) => [...m, 'send']), ''].join('\n');
  // -v: TCP (an UPDATE of many records does not fit a UDP datagram); -t/-u: seconds per try.
  const r = run(opts.nsupdate, ['-v', '-t', String(opts.timeout), '-u', String(opts.timeout), '-k', opts.keyFile], script, opts);
  if (r.status === 0) return;
  const text = `${r.stderr}\n${r.stdout}`.trim();
  const failed = /update failed: ([A-Z]+)(?:\(([A-Z]+)\))?/.exec(text);
  const where = `nsupdate to ${opts.host}:${opts.port} for zone ${zone}`;
  if (failed) {
    const [, rcode, tsig] = failed;
    if (['REFUSED', 'NOTAUTH', 'BADSIG', 'BADKEY', 'BADTIME'].includes(rcode) || tsig) throw new AdapterError('auth', `${where}: ${failed[0]}`);
    if (['YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NXDOMAIN'].includes(rcode)) throw new AdapterError('conflict', `${where}: ${failed[0]}`);
    throw new AdapterError('invalid', `${where}: ${failed[0]}`); // SERVFAIL, FORMERR, NOTIMP, NOTZONE
  }
  if (/TSIG error|tsig verify failure|expected a TSIG/i.test(text)) throw new AdapterError('auth', `${where}: ${oneLine(text)}`);
  if (/timed out|Communication with .* failed|could not reach|couldn't get address|connection refused|no servers/i.test(text)) throw new AdapterError('unreachable', `${where}: ${oneLine(text)}`);
  if (/ran out of space/.test(text)) throw new AdapterError('invalid', `${where}: the changes do not fit in one UPDATE message (64 KiB); nsupdate: ${oneLine(text)}`);
  if (/syntax error|bad |invalid|could not read key|file not found|permission denied/i.test(text)) throw new AdapterError('invalid', `${where}: ${oneLine(text)}`);
  throw new AdapterError('unreachable', `${where}: exit ${r.status}: ${oneLine(text) || 'no message'}`);
}

const oneLine = (t) => t.replace(/\s+/g, ' ').slice(0, 500);
const firstLine = (t, re) => t.split('\n').find((l) => re.test(l))?.trim() ?? oneLine(t);

// --- main -------------------------------------------------------------------------------------

try {
  const opts = parseArgs(process.argv.slice(2));
  let req;
  try {
    req = JSON.parse(readFileSync(0, 'utf8'));
  } catch (err) {
    throw new AdapterError('invalid', `request is not JSON: ${err.message}`);
  }
  if (req?.version !== VERSION) throw new AdapterError('invalid', `protocol version ${JSON.stringify(req?.version)} not supported (this adapter speaks ${VERSION})`);
  if (req.op === 'list') list(req, opts);
  else if (req.op === 'apply') apply(req, opts);
  else if (req.op === 'check') check(req, opts);
  else throw new AdapterError('invalid', `unknown op ${JSON.stringify(req.op)}`);
} catch (err) {
  if (err instanceof AdapterError) fail(err.kind, err.message);
  else {
    process.stderr.write(`${err?.stack ?? err}\n`);
    fail('invalid', `adapter bug: ${err?.message ?? err}`);
  }
}
