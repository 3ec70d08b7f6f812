// The operator's console in the browser: preact + htm (served from the htm package), state
// pushed by the gateway over server-sent events, actions through the console's admin proxy.
import { html, render, useEffect, useState } from './vendor/htm-preact.js';

const BASE = '/sovereign/console';

function useLiveState() {
  const [state, setState] = useState(null);
  const [live, setLive] = useState(false);
  useEffect(() => {
    const es = new EventSource(`${BASE}/events`);
    es.addEventListener('state', (ev) => {
      setState(JSON.parse(ev.data));
      setLive(true);
    });
    es.onerror = () => setLive(false);
    return () => es.close();
  }, []);
  return [state, live];
}

const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');

function Regions({ state, onAction }) {
  const operator = state.role === 'operator';
  return html`<section>
    <h2>Regions</h2>
    <table>
      <thead><tr><th>Region</th><th>Jurisdiction</th><th>Health</th><th class="num">Latency ms</th><th class="num">In flight</th><th>Suspension</th>${operator ? html`<th></th>` : null}</tr></thead>
      <tbody>
        ${state.regions.map(
          (r) => html`<tr data-region=${r.region}>
            <td><strong>${r.region}</strong></td>
            <td>${r.jurisdiction} <span class="muted">${r.country}</span></td>
            <td class=${r.healthy ? 'ok' : 'bad'} title=${r.reason}>${r.healthy ? '● healthy' : '● down'}${r.ejections > 0 ? html` <span class="warn">(${r.ejections} ejections)</span>` : null}${r.unserved_models?.length
              ? html`<br /><span class="warn unserved" title="named for this region in the topology; tried only after the regions that serve it">does not serve ${r.unserved_models.join(', ')}</span>`
              : null}</td>
            <td class="num">${fmt(r.latencyMs)}</td>
            <td class="num">${r.inflight}</td>
            <td class="suspension">${r.suspension
              ? html`<span class="bad">SUSPENDED${r.suspension.for ? ` for ${r.suspension.for.join(', ')}` : ''}</span><br /><span class="muted">${r.suspension.ref}: ${r.suspension.reason}</span>`
              : html`<span class="ok">in service</span>`}</td>
            ${operator
              ? html`<td>${r.suspension
                  ? html`<button onClick=${() => onAction({ action: 'resume', region: r.region })}>Resume</button>`
                  : html`<button class="danger" onClick=${() => onAction({ action: 'suspend', region: r.region })}>Suspend</button>`}</td>`
              : null}
          </tr>`,
        )}
      </tbody>
    </table>
    ${operator ? null : html`<p class="muted">Read-only session: log in with the admin token to suspend or resume.</p>`}
  </section>`;
}

function Decisions({ rows }) {
  const shown = rows.filter((r) => r.total > 0);
  return html`<section>
    <h2>Decisions per second <span class="muted">(5 s window)</span></h2>
    ${shown.length === 0
      ? html`<p class="empty">No decisions yet.</p>`
      : html`<table>
          <thead><tr><th>Jurisdiction</th><th>Class</th><th>Outcome</th><th>Region</th><th class="num">/s</th><th class="num">Total</th></tr></thead>
          <tbody>${shown.map((r) => html`<tr><td>${r.jurisdiction}</td><td>${r.class}</td><td class=${r.outcome === 'denied' || r.outcome === 'unavailable' ? 'bad' : ''}>${r.outcome}</td><td>${r.region}</td><td class="num">${fmt(r.perSecond, 2)}</td><td class="num">${r.total}</td></tr>`)}</tbody>
        </table>`}
  </section>`;
}

function Transfers({ rows }) {
  const t = rows.filter((r) => r.transfer && r.total > 0);
  return html`<section>
    <h2>Cross-border transfers</h2>
    ${t.length === 0
      ? html`<p class="empty">No request served outside its subjects' jurisdictions.</p>`
      : html`<table>
          <thead><tr><th>Subjects</th><th>Class</th><th>Served in</th><th class="num">/s</th><th class="num">Total</th></tr></thead>
          <tbody>${t.map((r) => html`<tr><td>${r.jurisdiction}</td><td>${r.class}</td><td>${r.region}</td><td class="num">${fmt(r.perSecond, 2)}</td><td class="num">${r.total}</td></tr>`)}</tbody>
        </table>`}
  </section>`;
}

function Ledger({ heads, outbox }) {
  return html`<section>
    <h2>Ledger heads</h2>
    <table>
      <thead><tr><th>Region</th><th class="num">Size</th><th>Root</th><th>Witnesses</th><th class="num">Lag</th></tr></thead>
      <tbody>${heads.map(
        (h) => html`<tr data-ledger=${h.region}>
          <td>${h.region}</td>
          <td class="num">${h.size}</td>
          <td><code title=${h.root}>${h.root.slice(0, 12)}…</code></td>
          <td class=${h.error ? 'bad' : h.anchored ? 'ok' : 'warn'} title=${h.cosigners.join('\n')}>${h.error ?? `${h.anchored ? 'anchored' : 'not anchored'} (${h.cosigners.length}/${h.quorum} needed)`}</td>
          <td class="num">${h.lagEntries > 0 ? `${h.lagEntries} entries, ${fmt(h.lagSeconds, 0)} s` : '0'}</td>
        </tr>`,
      )}</tbody>
    </table>
    <p class="muted">Gateway outbox: ${outbox} record(s) waiting for their region.</p>
  </section>`;
}

function ActionDialog({ pending, jurisdictions, onClose }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const suspend = pending.action === 'suspend';
  async function submit(ev) {
    ev.preventDefault();
    const f = new FormData(ev.target);
    const body = { reason: f.get('reason'), ref: f.get('ref') };
    if (suspend) {
      body.mode = f.get('mode');
      const forJ = f.getAll('for');
      if (forJ.length > 0) body.for = forJ;
    }
    setBusy(true);
    setError('');
    const res = await fetch(`${BASE}/regions/${encodeURIComponent(pending.region)}/${pending.action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-sovereign-console': '1' },
      body: JSON.stringify(body),
    });
    setBusy(false);
    if (res.ok) return onClose();
    const out = await res.json().catch(() => ({}));
    setError(out.error?.message ?? `the gateway answered ${res.status}`);
  }
  return html`<dialog open aria-label=${`${pending.action} ${pending.region}`}>
    <form onSubmit=${submit}>
      <h2>${suspend ? 'Suspend' : 'Resume'} ${pending.region}</h2>
      <p class="muted">${suspend ? 'Processing stops in this region at once, on every gateway replica; the trigger is recorded in the ledgers.' : 'The suspension is lifted once the resumption is recorded in the ledgers.'}</p>
      <label>Reason (kept in the ledger; no personal data)<input name="reason" required maxlength="200" /></label>
      <label>Reference of the order or authority<input name="ref" required maxlength="128" /></label>
      ${suspend
        ? html`<label>For subjects of (none ticked: everyone)</label>
            ${jurisdictions.map((j) => html`<label style="display:inline-block;margin-right:1rem"><input type="checkbox" name="for" value=${j} style="width:auto" /> ${j}</label>`)}
            <label>In-flight requests<select name="mode"><option value="drain">let them finish (drain)</option><option value="cut">abort them now (cut)</option></select></label>`
        : null}
      ${error ? html`<p class="error" role="alert">${error}</p>` : null}
      <p>
        <button type="submit" class=${suspend ? 'danger' : 'primary'} disabled=${busy}>${suspend ? 'Suspend region' : 'Resume region'}</button>
        <button type="button" onClick=${onClose}>Cancel</button>
      </p>
    </form>
  </dialog>`;
}

function App() {
  const [state, live] = useLiveState();
  const [pending, setPending] = useState(null);
  if (state === null) return html`<p class="loading">Connecting to the gateway…</p>`;
  return html`<header>
      <h1>Sovereign console</h1>
      <span class=${`badge ${live ? 'live' : 'stale'}`}>${live ? 'live' : 'reconnecting'}</span>
      <span class="badge">${state.role === 'operator' ? 'operator (admin token)' : 'read-only'}</span>
      <span class="spacer"></span>
      <span class="muted">state v${state.stateVersion} · ${new Date(state.at).toLocaleTimeString()}</span>
      <form method="post" action=${`${BASE}/logout`}><button type="submit">Log out</button></form>
    </header>
    <main>
      <${Regions} state=${state} onAction=${setPending} />
      <${Ledger} heads=${state.ledger} outbox=${state.outbox} />
      <${Decisions} rows=${state.decisions} />
      <${Transfers} rows=${state.decisions} />
    </main>
    ${pending ? html`<${ActionDialog} pending=${pending} jurisdictions=${state.jurisdictions} onClose=${() => setPending(null)} />` : null}`;
}

render(html`<${App} />`, document.getElementById('app'));
