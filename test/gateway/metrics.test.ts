// The gateway's metrics: the Grafana dashboard shipped in deploy/grafana asks only for metrics,
// and labels, that the gateway exposes (a renamed metric breaks this test, not a dashboard).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createGatewayMetrics } from '../../src/gateway/metrics.ts';
import { ROOT } from '../helpers/cluster.ts';

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

test('every dashboard query names an exposed metric, by its exposed labels', async () => {
  const dash = JSON.parse(readFileSync(`${ROOT}deploy/grafana/sovereign.json`, 'utf8')) as { panels: Panel[]; templating: { list: { definition?: string }[] } };
  const m = createGatewayMetrics();
  m.healthSource = { snapshot: () => [{ region: 'eu-frankfurt', healthy: true, reason: '', latencyMs: 1, inflight: 0, lastProbeAt: null, consecutiveFailures: 0, ejections: 0, ejectedUntil: null, models: null }] };
  m.requests.inc({ outcome: 'routed', region: 'eu-frankfurt', jurisdiction: 'EU', class: 'personal' });
  m.passedOver.inc({ region: 'eu-frankfurt', outcome: 'busy' });
  m.decisionSeconds.observe(0.0001);
  m.ledgerAppendSeconds.observe(0.002);
  m.witnessLagEntries.set({ region: 'eu-frankfurt' }, 0);
  m.witnessLagSeconds.set({ region: 'eu-frankfurt' }, 0);
  const exposed = new Map<string, Set<string>>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    const labels = new Set<string>(['le']);
    for (const v of (metric as { values: { labels: Record<string, unknown> }[] }).values) for (const k of Object.keys(v.labels)) labels.add(k);
    exposed.set(metric.name, labels);
  }
  const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
  exprs.push(...dash.templating.list.filter((t) => t.definition !== undefined).map((t) => ({ panel: 'templating', expr: t.definition as string })));
  assert.ok(exprs.length >= 10);
  for (const { panel, expr } of exprs) {
    const names = [...expr.matchAll(/\b(sovereign_[a-z_]+?)(_bucket|_sum|_count)?\b/g)].map((x) => x[1] as string);
    assert.ok(names.length > 0, `${panel}: no Sovereign metric in ${expr}`);
    for (const n of names) {
      const labels = exposed.get(n);
      assert.ok(labels, `${panel}: ${n} is not exposed by the gateway`);
      for (const by of expr.matchAll(/by \(([^)]*)\)/g)) for (const l of (by[1] as string).split(',').map((s) => s.trim())) assert.ok(labels.has(l), `${panel}: ${n} has no label ${l}`);
      for (const sel of expr.matchAll(/\{([^}]*)\}/g)) for (const l of (sel[1] as string).split(',').map((s) => s.trim().split(/[=!~]/)[0] as string).filter(Boolean)) assert.ok(labels.has(l), `${panel}: ${n} has no label ${l}`);
    }
  }
});

test('sovereign_ejections_total adds every rise of a region\'s ejection streak, across resets', async () => {
  const m = createGatewayMetrics();
  let streak = 0;
  m.healthSource = { snapshot: () => [{ region: 'uae-dubai', healthy: streak === 0, reason: '', latencyMs: 1, inflight: 0, lastProbeAt: null, consecutiveFailures: 0, ejections: streak, ejectedUntil: null, models: null }] };
  // The monitor's streak: two ejections, stable again (reset), then one more.
  for (const s of [0, 1, 2, 2, 0, 0, 1]) {
    streak = s;
    m.syncEjections();
  }
  const text = await m.registry.metrics();
  assert.match(text, /sovereign_ejections_total\{region="uae-dubai"\} 3\n/);
  assert.match(text, /sovereign_region_ejections\{region="uae-dubai"\} 1\n/);
});
