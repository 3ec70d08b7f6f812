// The HTML form of a report: one self-contained page (inline CSS and SVG, no scripts, no
// external resources) that prints well, carries every figure with its index range, and embeds
// the JSON report itself, so `sovereign report verify` checks the HTML as it checks the JSON.
import type { Cited, Figure, Section } from './figures.ts';
import type { RegionReport, Report } from './model.ts';

const esc = (s: unknown): string => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const range = (f: { indexes: { first: number; last: number } }): string => (f.indexes.first === f.indexes.last ? `${f.indexes.first}` : `${f.indexes.first}–${f.indexes.last}`);

/** Horizontal bar chart in SVG: black bars with values written out, readable in grey-scale print. */
function barChart(title: string, items: readonly { label: string; value: number }[]): string {
  if (items.length === 0) return '';
  const max = Math.max(...items.map((i) => i.value), 1);
  const rowH = 22;
  const labelW = 260;
  const barW = 380;
  const h = items.length * rowH + 30;
  const rows = items
    .map((it, i) => {
      const y = 24 + i * rowH;
      const w = Math.max(1, Math.round((it.value / max) * barW));
      return `<text x="${labelW - 8}" y="${y + 14}" text-anchor="end">${esc(it.label)}</text><rect x="${labelW}" y="${y + 3}" width="${w}" height="${rowH - 8}" fill="#333"/><text x="${labelW + w + 6}" y="${y + 14}">${it.value}</text>`;
    })
    .join('');
  return `<figure><svg role="img" aria-label="${esc(title)}" viewBox="0 0 ${labelW + barW + 60} ${h}" width="100%" style="max-width:${labelW + barW + 60}px" font-family="sans-serif" font-size="12"><text x="0" y="14" font-weight="bold">${esc(title)}</text>${rows}</svg></figure>`;
}

/** Timeline of legal triggers over the period: suspended intervals shaded, each trigger marked. */
function timeline(report: Report, triggers: readonly Cited[]): string {
  if (triggers.length === 0) return '';
  const from = Date.parse(report.period.from);
  const to = Date.parse(report.period.to);
  const W = 680;
  const x = (t: number): number => 20 + ((t - from) / (to - from)) * (W - 40);
  const byRegion = new Map<string, Cited[]>();
  for (const c of triggers) if (c.entry.kind === 'trigger') byRegion.set(c.entry.region, [...(byRegion.get(c.entry.region) ?? []), c]);
  let y = 40;
  let body = '';
  for (const [region, list] of byRegion) {
    body += `<text x="20" y="${y - 8}" font-weight="bold">${esc(region)}</text><line x1="20" y1="${y + 10}" x2="${W - 20}" y2="${y + 10}" stroke="#999"/>`;
    let open: number | null = null;
    for (const c of list) {
      if (c.entry.kind !== 'trigger') continue;
      const t = Date.parse(c.entry.time);
      if (c.entry.action === 'suspend') open ??= t;
      else if (open !== null) {
        body += `<rect x="${x(open)}" y="${y + 2}" width="${Math.max(2, x(t) - x(open))}" height="16" fill="#bbb" stroke="#333"/>`;
        open = null;
      }
    }
    if (open !== null) body += `<rect x="${x(open)}" y="${y + 2}" width="${Math.max(2, x(to) - x(open))}" height="16" fill="#bbb" stroke="#333"/>`;
    for (const c of list) {
      if (c.entry.kind !== 'trigger') continue;
      const cx = x(Date.parse(c.entry.time));
      body +=
        c.entry.action === 'suspend'
          ? `<path d="M${cx - 6},${y - 2} L${cx + 6},${y - 2} L${cx},${y + 8} Z" fill="#000"><title>${esc(`${c.entry.time} suspend ${c.entry.ref}`)}</title></path>`
          : `<circle cx="${cx}" cy="${y + 3}" r="5" fill="#fff" stroke="#000" stroke-width="2"><title>${esc(`${c.entry.time} resume ${c.entry.ref}`)}</title></circle>`;
    }
    y += 50;
  }
  const axis = `<text x="20" y="${y}" font-size="10">${esc(report.period.from)}</text><text x="${W - 20}" y="${y}" font-size="10" text-anchor="end">${esc(report.period.to)}</text>`;
  const legend = `<text x="20" y="${y + 16}" font-size="10">▼ suspension · ○ resumption · shaded: suspended</text>`;
  return `<figure><svg role="img" aria-label="Legal triggers timeline" viewBox="0 0 ${W} ${y + 24}" width="100%" style="max-width:${W}px" font-family="sans-serif" font-size="12"><text x="0" y="14" font-weight="bold">Legal triggers on the period's timeline</text>${body}${axis}${legend}</svg></figure>`;
}

/** `whole`: the columns whose values are identifiers (times, legal references) and are never broken across lines. */
function table(headers: readonly string[], rows: readonly (readonly unknown[])[], whole: readonly number[] = []): string {
  const td = (c: unknown, i: number): string => `<td${whole.includes(i) ? ' class="id"' : ''}>${esc(c)}</td>`;
  return `<table><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map(td).join('')}</tr>`).join('')}</tbody></table>`;
}

const none = (what: string): string => `<p class="none">No ${esc(what)} in this period.</p>`;

function section(figs: readonly Figure[], s: Section): Figure[] {
  return figs.filter((f) => f.section === s);
}

function regionHtml(report: Report, r: RegionReport): string {
  const f = r.figures;
  const requests = section(f, 'requests');
  const out = section(f, 'transfers_out');
  const inb = section(f, 'transfers_in');
  const denials = section(f, 'denials');
  const unavailable = section(f, 'unavailable');
  const failovers = section(f, 'failovers');
  const models = section(f, 'models');
  const triggers = r.cited.filter((c) => c.kind === 'trigger');
  const denied = r.cited.filter((c) => c.kind === 'denial');
  const arrivals = r.cited.filter((c) => c.kind === 'arrival');
  const summary =
    r.entries === 0
      ? `<p class="empty"><strong>Empty:</strong> the log of ${esc(r.region)} recorded no entry in this period. Its size at the end checkpoint is ${r.checkpoint_end.size}.</p>`
      : `<p>${r.entries} entries of the period, at log indexes ${r.indexes?.first}–${r.indexes?.last}${r.interleaved > 0 ? ` (${r.interleaved} entries in that range carry a time outside the period: recorded late, e.g. replayed from a gateway's outbox, and not counted)` : ''}.</p>`;
  let h = `<section class="region"><h2>Region ${esc(r.region)}</h2><p class="origin">Log <code>${esc(r.origin)}</code></p>${summary}`;

  h += '<h3>Requests by subject jurisdiction and data class</h3>';
  h += requests.length === 0 ? none('requests processed') : barChart('Requests processed in this region', requests.map((x) => ({ label: `${x.dims.jurisdiction} · ${x.dims.class}`, value: x.count }))) + table(['Subject jurisdiction', 'Data class', 'Requests', 'Log indexes'], requests.map((x) => [x.dims.jurisdiction, x.dims.class, x.count, range(x)]));

  h += '<h3>Cross-border transfers</h3>';
  h += '<h4>Out of this jurisdiction (recorded in the subjects\' home region)</h4>';
  h += out.length === 0 ? none('transfers out of this jurisdiction') : barChart('Transfers by destination and mechanism', out.map((x) => ({ label: `${x.dims.jurisdiction} → ${x.dims.destination} (${x.dims.mechanism})`, value: x.count }))) + table(['Source jurisdiction', 'Destination region', 'Mechanism', 'Requests', 'Log indexes'], out.map((x) => [x.dims.jurisdiction, x.dims.destination, x.dims.mechanism, x.count, range(x)]));
  h += '<h4>Into this region</h4>';
  h += inb.length === 0 ? none('transfers into this region') : table(['Source jurisdiction', 'Mechanism', 'Requests', 'Log indexes'], inb.map((x) => [x.dims.jurisdiction, x.dims.mechanism, x.count, range(x)]));

  h += '<h3>Denials (HTTP 451) by policy</h3>';
  h += denials.length === 0 ? none('denials') : barChart('Denials by policy', denials.map((x) => ({ label: x.dims.policy ?? '', value: x.count }))) + table(['Policy', 'Denials', 'Log indexes'], denials.map((x) => [x.dims.policy, x.count, range(x)]));
  if (denied.length > 0) {
    h += table(
      ['Index', 'Time', 'Decision', 'Subjects', 'Class', 'Policies'],
      denied.map((c) => (c.entry.kind === 'decision' ? [c.index, c.entry.time, c.entry.decision_id, c.entry.jurisdictions.map((j) => j.jurisdiction).join(', '), c.entry.data_class, c.entry.policy_ids.join(', ')] : [c.index])),
    );
  }
  if (unavailable.length > 0) {
    h += '<h4>Refused for lack of a healthy permitted region (HTTP 503)</h4>';
    h += table(['Subject jurisdiction', 'Data class', 'Requests', 'Log indexes'], unavailable.map((x) => [x.dims.jurisdiction, x.dims.class, x.count, range(x)]));
  }

  h += '<h3>Legal triggers</h3>';
  h +=
    triggers.length === 0
      ? none('legal triggers')
      : timeline(report, triggers) +
        table(
          ['Index', 'Time', 'Action', 'Region', 'Jurisdictions', 'Reason', 'Reference'],
          triggers.map((c) => (c.entry.kind === 'trigger' ? [c.index, c.entry.time, c.entry.action, c.entry.region, c.entry.jurisdictions.join(', '), c.entry.reason, c.entry.ref] : [c.index])),
          // An order's reference ("PDPC-2026-042") is cited as written, never split at its hyphens.
          [1, 3, 6],
        );

  h += '<h3>Failovers</h3>';
  h += failovers.length === 0 ? none('failovers') : table(['Failed region(s)', 'Served by', 'Requests', 'Log indexes'], failovers.map((x) => [x.dims.from, x.dims.to, x.count, range(x)]));

  h += '<h3>Models and versions served</h3>';
  h += models.length === 0 ? none('models served') : table(['Model', 'Version (digest)', 'Requests', 'Log indexes'], models.map((x) => [x.dims.model, x.dims.digest, x.count, range(x)]));
  if (arrivals.length > 0) {
    h += '<h4>Arrival entries</h4>';
    h += table(['Index', 'Time', 'Model', 'Digest'], arrivals.map((c) => (c.entry.kind === 'model' ? [c.index, c.entry.time, c.entry.name, c.entry.digest] : [c.index])));
  }

  h += '<h3>Checkpoints and proofs</h3>';
  h += `<p>Start: ${r.checkpoint_start.note === null ? 'the empty tree (size 0): no signed checkpoint was archived before the period' : `signed checkpoint of size ${r.checkpoint_start.size}`}. End: signed checkpoint of size ${r.checkpoint_end.size}${r.cosigned_by.length > 0 ? `, cosigned by ${esc(r.cosigned_by.join(', '))}` : ''}. Consistency proof (RFC 9162, §2.1.4): ${r.consistency.length} hashes.</p>`;
  if (r.checkpoint_start.note !== null) h += `<pre>${esc(r.checkpoint_start.note)}</pre>`;
  if (r.checkpoint_end.note !== null) h += `<pre>${esc(r.checkpoint_end.note)}</pre>`;
  if (r.consistency.length > 0) h += `<pre class="small">${esc(r.consistency.join('\n'))}</pre>`;
  if (r.cited.length > 0) h += `<h4>Inclusion proofs of the ${r.cited.length} cited entries (c2sp.org/tlog-proof@v1)</h4>${r.cited.map((c) => `<pre class="small">${esc(c.proof)}</pre>`).join('')}`;
  return `${h}</section>`;
}

const CSS = `body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#111;line-height:1.4}
h1{font-size:1.6rem}h2{border-bottom:2px solid #111;margin-top:2.5rem;page-break-before:auto}h3{margin-top:1.6rem}
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}th,td{border:1px solid #999;padding:.2rem .5rem;text-align:left;vertical-align:top}
th{background:#eee}td.id{white-space:nowrap}pre{white-space:pre-wrap;word-break:break-all;font-size:.75rem;background:#f6f6f6;padding:.5rem;border:1px solid #ddd}
pre.small{font-size:.65rem}.none{color:#555;font-style:italic}.empty{border:2px solid #111;padding:.5rem}
.verify{border:1px solid #111;padding:.5rem 1rem;background:#fafafa}figure{margin:.5rem 0}
@media print{section.region{page-break-before:always}a{color:#000}pre{page-break-inside:avoid}}`;

export function renderHtml(report: Report): string {
  const empty = report.regions.every((r) => r.entries === 0);
  const json = JSON.stringify(report).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sovereign compliance report ${esc(report.period.from)} – ${esc(report.period.to)}</title>
<meta name="generator" content="sovereign report"><style>${CSS}</style></head><body>
<h1>Sovereign compliance report</h1>
<p>Period: <strong>${esc(report.period.from)}</strong> (inclusive) to <strong>${esc(report.period.to)}</strong> (exclusive). Regions: ${esc(report.regions.map((r) => r.region).join(', '))}. Generated ${esc(report.generated_at)} from the logs served at <code>${esc(report.source)}</code>.</p>
${empty ? '<p class="empty"><strong>This report is empty:</strong> no region recorded any entry in this period.</p>' : ''}
<div class="verify"><h2 style="border:0;margin-top:.5rem">How to verify this report</h2>
<p>Every figure is computed from the regions' transparency-log entries alone and names the range of log indexes it counts. The report embeds, for each region, the signed checkpoints at the period's start and end (with witness cosignatures), a consistency proof between them, and an inclusion proof for every entry it cites individually (legal triggers, denials, model arrivals).</p>
<p>Obtain each region's log verifier key and the witnesses' keys from the operator out of band, then run</p>
<pre>sovereign report verify &lt;this file&gt; --key &lt;log vkey&gt;... --witness &lt;witness vkey&gt;...</pre>
<p>It fetches every entry from the served logs, checks them against the signed checkpoints, checks every proof, recomputes every figure and names any figure that does not match. A single cited entry can also be checked offline with <code>sovereign ledger check-receipt</code>. The HTML form embeds the JSON report (element <code>sovereign-report</code>), so verify takes it as it takes the JSON; the PDF carries the same figures for reading and printing: verify its JSON or HTML twin.</p></div>
${report.regions.map((r) => regionHtml(report, r)).join('\n')}
<script type="application/json" id="sovereign-report">${json}</script>
</body></html>
`;
}

/** The JSON report embedded in an HTML report, or null if the text is not one. */
export function reportJsonFromHtml(html: string): string | null {
  const m = /<script type="application\/json" id="sovereign-report">([\s\S]*?)<\/script>/.exec(html);
  return m === null ? null : (m[1] as string);
}
