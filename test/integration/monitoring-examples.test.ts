// examples/monitoring/ checked by the tools that consume it: promtool (rules syntax, the rules'
// own unit tests), systemd-analyze (the units), and the alert rules evaluated by promtool against
// textfiles `danehook check --prometheus` wrote for a healthy and a broken setup on real servers —
// so the rules and the metric names danehook writes cannot drift apart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireBinaries } from '../harness/binaries.js';
import { CHECK_RIG_BINARIES, startCheckRig } from '../harness/check-rig.js';

const DIR = fileURLToPath(new URL('../../examples/monitoring/', import.meta.url));

function run(cmd: string, args: string[], cwd?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd }, (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }));
  });
}

test('examples/monitoring: promtool accepts the rules and their unit tests pass; systemd-analyze accepts the units', { timeout: 60_000 }, async (t) => {
  if (!requireBinaries(t, ['promtool', 'systemd-analyze'])) return;
  const rules = await run('promtool', ['check', 'rules', 'prometheus-alerts.yml'], DIR);
  assert.equal(rules.code, 0, rules.out);
  assert.match(rules.out, /SUCCESS: \d+ rules found/);
  const unit = await run('promtool', ['test', 'rules', 'prometheus-alerts.test.yml'], DIR);
  assert.equal(unit.code, 0, unit.out);
  // systemd-analyze exits 0 on some bad values (it only warns), so its output must be empty too.
  const units = await run('systemd-analyze', ['verify', join(DIR, 'danehook-check.service'), join(DIR, 'danehook-check.timer')]);
  assert.equal(units.code, 0, units.out);
  assert.equal(units.out.trim(), '', units.out);
});

/** Pure: a promtool rule test whose input is a textfile as node_exporter exports it (constant for 30 min). */
function ruleTestFor(textfile: string, expect: Record<string, object[]>): object {
  const series = textfile.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(l)!;
    const labels = ['instance="mx1:9100"', 'job="node"', ...(m[2] ? [m[2]] : [])].join(',');
    return { series: `${m[1]}{${labels}}`, values: `${m[3]}x30` };
  });
  return {
    rule_files: [join(DIR, 'prometheus-alerts.yml')],
    evaluation_interval: '1m',
    tests: [{
      interval: '1m',
      input_series: series,
      alert_rule_test: Object.entries(expect).map(([alertname, exp_alerts]) => ({ eval_time: '25m', alertname, exp_alerts })),
    }],
  };
}

test('the alert rules on real textfiles: quiet when healthy; DaneTlsaMismatch per server and DanehookCheckCritical when an endpoint presents another certificate', { timeout: 90_000 }, async (t) => {
  if (!requireBinaries(t, [...CHECK_RIG_BINARIES, 'promtool'])) return;
  const rig = await startCheckRig(t, { signaturesValidity: 30 * 86_400 });
  const work = mkdtempSync(join(tmpdir(), 'danehook-promrules-'));
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const prom = join(work, 'danehook.prom');
  const promtoolTest = async (name: string, spec: object) => {
    // JSON is YAML: promtool reads it as a rule test file.
    writeFileSync(join(work, name), JSON.stringify(spec, null, 2));
    return run('promtool', ['test', 'rules', name], work);
  };
  const quiet = { DaneTlsaMismatch: [], DanehookCheckCritical: [], DanehookCheckUnknown: [], DanehookCheckWarning: [], DnssecSignaturesExpiring: [] };

  const healthy = await rig.check(['--prometheus', prom]);
  assert.equal(healthy.code, 0, healthy.stdout);
  const h = await promtoolTest('healthy.yml', ruleTestFor(readFileSync(prom, 'utf8'), quiet));
  assert.equal(h.code, 0, `healthy textfile fires alerts:\n${h.out}`);
  // Control: promtool does fail a rule test whose expected alert does not fire.
  const c = await promtoolTest('control.yml', ruleTestFor(readFileSync(prom, 'utf8'), { DanehookCheckCritical: [{ exp_labels: { severity: 'critical', instance: 'mx1:9100', job: 'node' } }] }));
  assert.notEqual(c.code, 0, `promtool passed an alert that cannot fire:\n${c.out}`);

  await rig.present(0, rig.b);
  const broken = await rig.check(['--prometheus', prom]);
  assert.equal(broken.code, 2, broken.stdout);
  const text = readFileSync(prom, 'utf8');
  // The endpoint label as danehook writes it (it names the address): the alert carries it.
  const endpoint = /danehook_tlsa_match\{[^}]*endpoint="([^"]*)"[^}]*\} 0/.exec(text)?.[1];
  assert.ok(endpoint?.includes(rig.addresses[0]!), text);
  const critical = Number(/danehook_findings\{severity="critical"\} (\d+)/.exec(text)?.[1]);
  const b = await promtoolTest('broken.yml', ruleTestFor(text, {
    ...quiet,
    DaneTlsaMismatch: rig.servers.map((server) => ({
      exp_labels: { severity: 'critical', instance: 'mx1:9100', job: 'node', id: 'mx', endpoint, server },
      exp_annotations: {
        summary: `DANE: ${endpoint} does not match the TLSA RRset served by ${server} (mx)`,
        description: 'Senders that enforce DANE defer mail to this endpoint. Run `danehook check --id mx` on mx1:9100.',
      },
    })),
    DanehookCheckCritical: [{
      exp_labels: { severity: 'critical', instance: 'mx1:9100', job: 'node' },
      exp_annotations: {
        summary: `danehook check: ${critical} critical finding(s) on mx1:9100`,
        description: 'Run `danehook check` on mx1:9100 for the lines (one per finding).',
      },
    }],
  }));
  assert.ok(critical > 0);
  assert.equal(b.code, 0, `alerts on the broken textfile:\n${b.out}\n${text}`);
});
