// check's findings → the monitoring-plugin status and exit code, and the textfile's format
// (escaping, HELP/TYPE per metric); promtool checks the real textfile in check.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeStatus, EXIT_CODES, formatFindingLine, formatSummaryLine, type Finding } from '../../../src/check/finding.js';
import { computeGauges, formatGauges } from '../../../src/check/prometheus.js';

const f = (severity: Finding['severity']): Finding => ({ severity, id: 'mx', check: 'rrset', subject: '_25._tcp.mx.example.test.', message: 'm' });

test('status: CRITICAL over UNKNOWN over WARNING over OK; exit codes 0/1/2/3', () => {
  assert.equal(computeStatus([]), 'OK');
  assert.equal(computeStatus([f('OK'), f('WARNING')]), 'WARNING');
  assert.equal(computeStatus([f('WARNING'), f('UNKNOWN')]), 'UNKNOWN');
  assert.equal(computeStatus([f('UNKNOWN'), f('CRITICAL'), f('WARNING')]), 'CRITICAL');
  assert.deepEqual(EXIT_CODES, { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 });
});

test('one greppable line per finding, and a summary', () => {
  assert.equal(formatFindingLine({ ...f('CRITICAL'), endpoint: 'mx.example.test 192.0.2.1:25 (smtp)', message: 'presents SPKI 3f2a… not in the RRset served by ns2' }),
    'CRITICAL mx _25._tcp.mx.example.test. mx.example.test 192.0.2.1:25 (smtp) presents SPKI 3f2a… not in the RRset served by ns2');
  assert.equal(formatSummaryLine([f('OK'), f('CRITICAL')]), 'danehook check: CRITICAL — 1 critical, 0 warning, 0 unknown, 1 ok');
});

test('textfile: HELP and TYPE once per metric, label values escaped, success 0 with a CRITICAL', () => {
  const text = formatGauges(computeGauges([f('CRITICAL')], {
    tlsaMatch: [{ id: 'mx', endpoint: 'a "b"\\c', server: '127.0.0.1:53', match: false }], rrsigExpiry: [], certificateExpiry: [{ id: 'mx', seconds: 86400 }], durationSeconds: 0.25,
  }));
  assert.match(text, /^# HELP danehook_check_success .+\n# TYPE danehook_check_success gauge\ndanehook_check_success 0$/m);
  assert.match(text, /danehook_tlsa_match\{id="mx",endpoint="a \\"b\\"\\\\c",server="127.0.0.1:53"\} 0/);
  assert.match(text, /danehook_findings\{severity="critical"\} 1/);
  assert.equal(text.match(/^# TYPE danehook_rrsig_expiry_seconds gauge$/gm)?.length, 1, 'a metric without samples still declares its type once');
});
