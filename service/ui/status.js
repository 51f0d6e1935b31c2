// changefeed status page: polls /sources and /activity, tails /changes as Server-Sent Events.
//
// The feed token (when the API answers 401) lives in sessionStorage and goes out as
// `Authorization: Bearer`. EventSource cannot send that header, so the tail reads the SSE stream
// with fetch() and a streaming body reader instead: that sends the header, and on a reconnect
// `Last-Event-ID` (the last seq shown), so the tail resumes without gaps. A server that answers
// the SSE request with JSON (no SSE support) is tailed by long polling instead.
'use strict';

(() => {
  const TOKEN_KEY = 'changefeed.feed_token';
  const REFRESH_MS = 5000;
  const TAIL_MAX = 200;
  const TAIL_BACKLOG = 25;       // events shown from before the page opened
  const STALL_MS = 45000;        // no bytes (heartbeats come every 15 s): reconnect
  const ANNOUNCE_EVERY_MS = 15000;

  const $ = (id) => document.getElementById(id);
  const state = {
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    tokenPrompt: null,
    sources: new Map(),       // name -> card elements
    head: null,
    lastSeq: null,
    filters: { source: '', resource: '', operation: '' },
    stream: null,
    paused: false,
    held: [],
    resources: new Set(),
    unannounced: 0,
    announceTimer: null,
    refreshTimer: null,
    resyncTarget: null,
  };

  class AuthError extends Error {
    constructor(token) {
      super('the feed token was refused');
      this.token = token;
    }
  }

  // ---- small DOM helpers ----
  function el(tag, attrs, ...children) {
    const svg = tag.startsWith('svg:');
    const node = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
                     : document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') node.textContent = v;
      else node.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c !== null && c !== undefined) node.append(c);
    }
    return node;
  }
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  // ---- formatting ----
  const nf = new Intl.NumberFormat();
  function fmtDuration(seconds) {
    if (seconds === null || seconds === undefined) return '–';
    const s = Math.abs(seconds);
    if (s < 1) return `${Math.round(s * 1000)} ms`;
    if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
    if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
    return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
  }
  function fmtAgo(iso) {
    if (!iso) return 'never';
    const d = (Date.now() - Date.parse(iso)) / 1000;
    return d >= 0 ? `${fmtDuration(d)} ago` : `in ${fmtDuration(-d)}`;
  }
  function fmtClock(iso) {
    const t = new Date(iso);
    return Number.isNaN(t.getTime()) ? String(iso) : t.toLocaleTimeString([], { hour12: false });
  }
  function timeNode(iso, text) {
    return el('time', { datetime: iso || null, title: iso ? new Date(iso).toString() : null, text });
  }
  function short(value, max = 160) {
    const s = value === undefined ? 'absent' : JSON.stringify(value);
    return s.length > max ? `${s.slice(0, max - 1)}…` : s;
  }

  // ---- the API ----
  function authHeaders(extra) {
    const h = Object.assign({}, extra || {});
    if (state.token) h.Authorization = `Bearer ${state.token}`;
    return h;
  }
  async function api(path, options) {
    const opts = Object.assign({ cache: 'no-store' }, options || {});
    const used = state.token;
    opts.headers = authHeaders(Object.assign({ Accept: 'application/json' }, opts.headers || {}));
    const res = await fetch(path, opts);
    if (res.status === 401) throw new AuthError(used);
    let body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    return { status: res.status, ok: res.ok, body };
  }
  function errorText(reply) {
    const e = reply.body && reply.body.error;
    return e && e.message ? `${e.message} (${reply.status})` : `HTTP ${reply.status}`;
  }

  // Shows the token dialog; resolves once a token was entered. One prompt at a time; a 401 for a
  // token that has since been replaced asks nothing.
  function askToken(refused) {
    if (state.tokenPrompt) return state.tokenPrompt;
    if (state.token && refused !== state.token) return Promise.resolve();
    const dialog = $('token-dialog');
    const error = $('token-error');
    if (state.token) {
      error.textContent = 'That token was refused. Enter a valid feed token.';
      error.hidden = false;
    } else {
      error.hidden = true;
    }
    state.token = '';
    sessionStorage.removeItem(TOKEN_KEY);
    $('forget-token').hidden = true;
    state.tokenPrompt = new Promise((resolve) => {
      const form = $('token-form');
      const input = $('token-input');
      input.value = '';
      const onSubmit = (ev) => {
        ev.preventDefault();
        const token = input.value.trim();
        if (!token) return;
        form.removeEventListener('submit', onSubmit);
        state.token = token;
        sessionStorage.setItem(TOKEN_KEY, token);
        $('forget-token').hidden = false;
        dialog.close();
        state.tokenPrompt = null;
        resolve();
      };
      form.addEventListener('submit', onSubmit);
      if (!dialog.open) dialog.showModal();
      input.focus();
    });
    return state.tokenPrompt;
  }

  // ---- sources and activity ----
  function stateClass(s) {
    return ['idle', 'polling', 'backing_off', 'failing', 'disabled'].includes(s) ? s : 'unknown';
  }

  function makeCard(name) {
    const refs = {};
    refs.root = el('li', { class: 'source', 'data-source': name, 'aria-labelledby': `src-${name}` });
    refs.kind = el('span', { class: 'kind' });
    refs.state = el('span', { class: 'state' });
    refs.root.append(el('div', { class: 'source-head' },
      el('h3', { id: `src-${name}`, text: name }), refs.kind, refs.state));
    refs.facts = el('dl', { class: 'facts' });
    refs.lag = el('dd');
    refs.success = el('dd');
    refs.poll = el('dd');
    refs.counts = el('dd');
    refs.error = el('dd');
    refs.facts.append(el('dt', { text: 'Lag' }), refs.lag, el('dt', { text: 'Last success' }), refs.success,
      el('dt', { text: 'Next poll' }), refs.poll, el('dt', { text: 'Events / requests' }), refs.counts,
      el('dt', { text: 'Last error' }), refs.error);
    refs.resyncFacts = [el('dt', { text: 'Resync' }), el('dd')];
    refs.budget = el('div', { class: 'budget', role: 'group', 'aria-label': `${name}: rate budget left per window` },
      el('h4', { text: 'Rate budget left' }));
    refs.windows = el('div');
    refs.budget.append(refs.windows);
    refs.chart = el('div', { class: 'chart' });
    refs.note = el('p', { class: 'note', role: 'status' });
    refs.resync = el('button', { type: 'button', 'aria-haspopup': 'dialog', text: 'Resync…' });
    refs.resync.addEventListener('click', () => openResync(name, refs));
    refs.root.append(refs.facts, refs.budget,
      el('div', {}, el('p', { class: 'chart-label', text: 'Events per minute, last hour' }), refs.chart),
      el('div', { class: 'source-foot' }, refs.resync, refs.note));
    return refs;
  }

  function renderBudget(refs, budget) {
    const windows = (budget || []).map((w) => {
      const pct = w.limit > 0 ? Math.max(0, Math.min(100, (100 * w.remaining) / w.limit)) : 0;
      const fill = el('span');
      fill.style.width = `${pct}%`;
      const resets = w.resets_at ? `, full again ${fmtAgo(w.resets_at)}` : '';
      return el('div', { class: 'window' },
        el('span', { text: `per ${w.window}` }),
        el('span', {
          class: pct < 20 ? 'bar low' : 'bar', role: 'meter', 'aria-valuemin': 0, 'aria-valuemax': w.limit,
          'aria-valuenow': w.remaining, 'aria-label': `requests left per ${w.window}`,
          'aria-valuetext': `${w.remaining} of ${w.limit} left${resets}`,
        }, fill),
        el('span', { text: `${w.remaining}/${w.limit}` }));
    });
    if (windows.length === 0) windows.push(el('p', { class: 'hint', text: 'no rate limit' }));
    refs.windows.replaceChildren(...windows);
  }

  // A bar chart of per-minute counts (oldest first; the last is the minute in progress).
  function chart(counts, label, startIso) {
    const n = counts.length;
    const max = Math.max(1, ...counts);
    const total = counts.reduce((a, b) => a + b, 0);
    const w = 4;
    const h = 40;
    const svg = el('svg:svg', {
      viewBox: `0 0 ${n * w} ${h}`, preserveAspectRatio: 'none', role: 'img',
      'aria-label': `${label}: ${nf.format(total)} events in the last hour, at most ${nf.format(Math.max(...counts, 0))} in a minute`,
    });
    svg.append(el('svg:line', { x1: 0, y1: h - 0.5, x2: n * w, y2: h - 0.5 }));
    const start = startIso ? Date.parse(startIso) : null;
    counts.forEach((c, i) => {
      if (c <= 0) return;
      const bh = Math.max(1, (c / max) * (h - 2));
      const r = el('svg:rect', { class: i === n - 1 ? 'now' : 'b', x: i * w + 0.5, y: h - bh, width: w - 1, height: bh });
      const when = start !== null ? new Date(start + i * 60000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false }) : `minute ${i + 1}`;
      r.append(el('svg:title', { text: `${when}: ${nf.format(c)} events` }));
      svg.append(r);
    });
    return svg;
  }

  function renderSources(list, activity) {
    const container = $('sources');
    const seen = new Set();
    const series = new Map(((activity && activity.sources) || []).map((s) => [s.name, s.counts]));
    const minutes = (activity && activity.minutes) || 60;
    const select = $('filter-source');
    list.forEach((s, index) => {
      seen.add(s.name);
      let refs = state.sources.get(s.name);
      if (!refs) {
        refs = makeCard(s.name);
        state.sources.set(s.name, refs);
        select.append(el('option', { value: s.name, text: s.name }));
      }
      const at = container.children[index];
      if (at !== refs.root) container.insertBefore(refs.root, at || null);  // the server's order
      setText(refs.kind, s.kind || '');
      const st = s.holder === false ? `${s.state} (standby)` : s.state;
      setText(refs.state, st);
      refs.state.className = `state state-${stateClass(s.state)}`;
      setText(refs.lag, s.lag_seconds === null || s.lag_seconds === undefined ? '–' : fmtDuration(s.lag_seconds));
      refs.success.replaceChildren(timeNode(s.last_success_at, fmtAgo(s.last_success_at)));
      refs.poll.replaceChildren(s.next_poll_at ? timeNode(s.next_poll_at, fmtAgo(s.next_poll_at)) : '–');
      setText(refs.counts, `${nf.format(s.events_total || 0)} / ${nf.format(s.requests_total || 0)}`);
      setText(refs.error, s.last_error || 'none');
      refs.error.classList.toggle('error', Boolean(s.last_error));
      if (s.resync) {
        const r = s.resync;
        const parts = [r.state];
        if (r.pages !== undefined) parts.push(`${nf.format(r.pages)} pages`);
        if (r.events !== undefined) parts.push(`${nf.format(r.events)} events`);
        if (r.started_at) parts.push(`started ${fmtAgo(r.started_at)}`);
        setText(refs.resyncFacts[1], parts.join(', '));
        if (!refs.resyncFacts[0].isConnected) refs.facts.append(...refs.resyncFacts);
      }
      renderBudget(refs, s.budget);
      refs.chart.replaceChildren(chart(series.get(s.name) || new Array(minutes).fill(0), `${s.name} events per minute`,
        activity && activity.minute_start));
    });
    for (const [name, refs] of state.sources) {
      if (!seen.has(name)) {
        refs.root.remove();
        state.sources.delete(name);
        const opt = [...select.options].find((o) => o.value === name);
        if (opt && select.value !== name) opt.remove();
      }
    }
    setText($('source-count'), `(${list.length})`);
    container.setAttribute('aria-busy', 'false');
  }

  function renderActivity(activity) {
    if (!activity) return;
    const total = activity.total || [];
    if (activity.head_seq !== undefined && (state.head === null || activity.head_seq >= state.head)) {
      state.head = activity.head_seq;
      setText($('head-seq'), `#${nf.format(activity.head_seq)}`);
    }
    // Over the last five minutes and the part of the current one that has passed.
    const current = Date.parse(activity.minute_start) + (total.length - 1) * 60000;
    const part = Number.isNaN(current) ? 1 : Math.min(1, Math.max(0, (Date.now() - current) / 60000));
    const recent = total.slice(-6);
    const minutes = Math.max(1 / 60, recent.length - 1 + part);
    const rate = recent.reduce((a, b) => a + b, 0) / minutes;
    setText($('ingest-rate'), `${nf.format(Math.round(rate * 10) / 10)} /min`);
    setText($('hour-total'), nf.format(total.reduce((a, b) => a + b, 0)));
    $('total-chart').replaceChildren(chart(total, 'All sources, events per minute', activity.minute_start));
  }

  function showPageError(text) {
    const p = $('page-error');
    p.hidden = !text;
    setText(p, text || '');
  }

  async function refresh() {
    clearTimeout(state.refreshTimer);
    try {
      const [sources, activity] = await Promise.all([api('/sources'), api('/activity')]);
      if (!sources.ok) throw new Error(`GET /sources failed: ${errorText(sources)}`);
      renderActivity(activity.ok ? activity.body : null);
      renderSources(sources.body.sources || [], activity.ok ? activity.body : null);
      setText($('updated-at'), new Date().toLocaleTimeString([], { hour12: false }));
      showPageError('');
    } catch (e) {
      if (e instanceof AuthError) {
        await askToken(e.token);
        return refresh();
      }
      showPageError(`Cannot reach the service: ${e.message}. Retrying.`);
    }
    if (!document.hidden) state.refreshTimer = setTimeout(refresh, REFRESH_MS);
    return undefined;
  }

  // ---- resync ----
  function openResync(name, refs) {
    state.resyncTarget = { name, refs };
    setText($('resync-title'), `Resync ${name}?`);
    $('resync-from').value = '';
    $('resync-error').hidden = true;
    $('resync-confirm').disabled = false;
    $('resync-dialog').showModal();
    $('resync-cancel').focus();
  }

  async function confirmResync(ev) {
    ev.preventDefault();
    const target = state.resyncTarget;
    if (!target) return;
    const from = $('resync-from').value.trim();
    if (from && Number.isNaN(Date.parse(from))) {
      $('resync-error').textContent = 'Write the time as RFC 3339, e.g. 2026-01-31T00:00:00Z, or leave it empty.';
      $('resync-error').hidden = false;
      $('resync-from').focus();
      return;
    }
    $('resync-confirm').disabled = true;
    const { name, refs } = target;
    let text;
    let failed = true;
    try {
      const reply = await api(`/sources/${encodeURIComponent(name)}/resync`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(from ? { from } : {}),
      });
      if (reply.status === 202 || reply.ok) {
        text = 'Resync started; its progress shows here.';
        failed = false;
      } else if (reply.status === 409) {
        text = `A resync is already running: ${errorText(reply)}`;
      } else if (reply.status === 404 || reply.status === 405) {
        text = `This service cannot resync yet: ${errorText(reply)}`;
      } else {
        text = `Resync refused: ${errorText(reply)}`;
      }
    } catch (e) {
      if (e instanceof AuthError) {
        $('resync-dialog').close();
        await askToken(e.token);
        refs.resync.focus();
        return;
      }
      text = `Resync failed: ${e.message}`;
    }
    $('resync-dialog').close();
    refs.note.classList.toggle('error', failed);
    setText(refs.note, text);
    refs.resync.focus();
    refresh();
  }

  // ---- the live tail ----
  function matches(ev, f) {
    const inList = (value, list) => !list || list.split(',').map((x) => x.trim()).filter(Boolean).includes(value);
    return inList(ev.source, f.source) && inList(ev.resource, f.resource) && inList(ev.operation, f.operation);
  }

  function setStreamState(kind, text, transport) {
    const p = $('stream-state');
    p.dataset.state = kind;
    if (transport !== undefined) p.dataset.transport = transport;
    setText(p, text);
  }

  function jsonBlock(ev) {
    const pre = el('pre', { class: 'json', tabindex: 0, 'aria-label': `event ${ev.seq} as JSON` });
    const keys = Object.keys(ev);
    pre.append('{\n');
    keys.forEach((k, i) => {
      const value = JSON.stringify(ev[k], null, 2).replace(/\n/g, '\n  ');
      const text = `  ${JSON.stringify(k)}: ${value}${i < keys.length - 1 ? ',' : ''}\n`;
      pre.append(k === 'changes' ? el('mark', { class: 'changes', title: 'field changes' }, text) : text);
    });
    pre.append('}');
    return pre;
  }

  function detail(ev) {
    const box = el('div', { class: 'detail' });
    if (Array.isArray(ev.changes) && ev.changes.length) {
      const rows = ev.changes.map((c) => el('tr', {},
        el('th', { scope: 'row', class: 'mono', text: String(c.field) }),
        el('td', { class: 'old mono', text: short(c.old) }),
        el('td', { class: 'new mono', text: short(c.new) })));
      box.append(el('table', {},
        el('caption', { text: `${ev.changes.length} field change${ev.changes.length === 1 ? '' : 's'}` }),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', text: 'Field' }),
          el('th', { scope: 'col', text: 'Old' }), el('th', { scope: 'col', text: 'New' }))),
        el('tbody', {}, ...rows)));
    } else {
      box.append(el('p', { class: 'hint', text: 'This event carries no field changes.' }));
    }
    box.append(jsonBlock(ev));
    return box;
  }

  function eventRow(ev) {
    const n = Array.isArray(ev.changes) ? ev.changes.length : 0;
    const li = el('li', { class: 'fresh', 'data-seq': ev.seq, 'data-source': ev.source,
      'data-resource': ev.resource, 'data-operation': ev.operation, 'data-changes': n });
    li.event = ev;
    const id = `event-${ev.seq}`;
    const row = el('button', { type: 'button', class: 'row', 'aria-expanded': 'false', 'aria-controls': id },
      el('span', { class: 'seq', text: `#${ev.seq}` }),
      el('span', { class: 'when' }, timeNode(ev.occurred_at, fmtClock(ev.occurred_at))),
      el('span', { class: 'src', text: ev.source }),
      el('span', { class: 'res', text: ev.resource }),
      el('span', { class: 'rid', text: ev.resource_id, title: ev.resource_id }),
      el('span', { class: `op op-${ev.operation}`, text: ev.operation }),
      el('span', { class: 'nchanges', text: n ? `${n} change${n === 1 ? '' : 's'}` : '' },
        ev.snapshot ? el('span', { class: 'badge', text: 'snapshot' }) : null));
    const panel = el('div', { id, hidden: true });
    row.addEventListener('click', () => {
      const open = row.getAttribute('aria-expanded') === 'true';
      if (!open && !panel.firstChild) panel.append(detail(ev));
      row.setAttribute('aria-expanded', String(!open));
      panel.hidden = open;
    });
    li.append(row, panel);
    return li;
  }

  function showEvents(events) {
    const list = $('events');
    // Only the newest TAIL_MAX of a burst (a catch-up commits hundreds at once) would stay shown.
    for (const ev of events.slice(-TAIL_MAX)) {
      list.prepend(eventRow(ev));
    }
    while (list.children.length > TAIL_MAX) list.lastElementChild.remove();
    $('tail-empty').hidden = list.children.length > 0;
  }

  function noteHeld() {
    const p = $('tail-held');
    p.hidden = state.held.length === 0;
    setText(p, `${state.held.length} new event${state.held.length === 1 ? '' : 's'} held while paused.`);
  }

  function announce(count) {
    state.unannounced += count;
    if (state.announceTimer || !$('announce').checked) return;
    state.announceTimer = setTimeout(() => {
      state.announceTimer = null;
      if ($('announce').checked && state.unannounced > 0) {
        const n = state.unannounced;
        setText($('tail-announcer'), `${n} new event${n === 1 ? '' : 's'} in the live tail.`);
      }
      state.unannounced = 0;
    }, ANNOUNCE_EVERY_MS);
  }

  function onEvents(events, filters) {
    if (filters !== state.filters || events.length === 0) return;  // a stream being replaced
    for (const ev of events) {
      if (typeof ev.seq === 'number' && (state.lastSeq === null || ev.seq > state.lastSeq)) state.lastSeq = ev.seq;
      if (typeof ev.seq === 'number' && (state.head === null || ev.seq > state.head)) {
        state.head = ev.seq;
        setText($('head-seq'), `#${nf.format(ev.seq)}`);
      }
      if (ev.resource && !state.resources.has(ev.resource)) {
        state.resources.add(ev.resource);
        $('resource-names').append(el('option', { value: ev.resource }));
      }
    }
    if (state.paused) {
      state.held.push(...events);
      if (state.held.length > TAIL_MAX) state.held.splice(0, state.held.length - TAIL_MAX);
      noteHeld();
      return;
    }
    showEvents(events);
    announce(events.length);
  }

  function changesUrl(since, filters, extra) {
    const q = new URLSearchParams();
    q.set('since', String(since));
    for (const k of ['source', 'resource', 'operation']) {
      if (filters[k]) q.set(k, filters[k]);
    }
    for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
    return `/changes?${q}`;
  }

  const sleep = (ms, signal) => new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });

  // Reads one SSE response until it ends; hands each `change` event to onEvents.
  async function readSse(res, filters, conn) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let data = [];
    let type = '';
    let stall = setTimeout(() => conn.abort(), STALL_MS);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        clearTimeout(stall);
        stall = setTimeout(() => conn.abort(), STALL_MS);
        buffer += decoder.decode(value, { stream: true });
        let nl;
        const batch = [];
        while ((nl = buffer.indexOf('\n')) >= 0) {
          let line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.endsWith('\r')) line = line.slice(0, -1);
          if (line === '') {
            if (data.length && (type === '' || type === 'change')) {
              try { batch.push(JSON.parse(data.join('\n'))); } catch (e) { /* not an event */ }
            }
            data = [];
            type = '';
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            let v = colon < 0 ? '' : line.slice(colon + 1);
            if (v.startsWith(' ')) v = v.slice(1);
            if (field === 'data') data.push(v);
            else if (field === 'event') type = v;
          }
        }
        onEvents(batch, filters);
      }
    } finally {
      clearTimeout(stall);
      reader.cancel().catch(() => {});
    }
  }

  // Tails /changes until `stop` aborts: SSE, or long polls when the server answers with JSON.
  async function tail(stop, filters, since) {
    let backoff = 500;
    let first = since;
    let sse = true;
    while (!stop.signal.aborted) {
      const conn = new AbortController();
      const onStop = () => conn.abort();
      stop.signal.addEventListener('abort', onStop, { once: true });
      const from = state.lastSeq !== null ? state.lastSeq : first;
      const used = state.token;
      try {
        let res;
        if (sse) {
          const headers = authHeaders({ Accept: 'text/event-stream' });
          if (state.lastSeq !== null) headers['Last-Event-ID'] = String(state.lastSeq);
          res = await fetch(changesUrl(from, filters), { headers, signal: conn.signal, cache: 'no-store' });
        } else {
          res = await fetch(changesUrl(from, filters, { wait: '30', limit: '500' }),
            { headers: authHeaders({ Accept: 'application/json' }), signal: conn.signal, cache: 'no-store' });
        }
        if (res.status === 401) {
          setStreamState('error', 'waiting for the feed token');
          await askToken(used);
          continue;
        }
        if (res.status === 410) {
          const body = await res.json().catch(() => null);
          const oldest = body && body.error && body.error.oldest_available;
          state.lastSeq = typeof oldest === 'number' ? oldest - 1 : null;
          first = 'now';
          continue;
        }
        if (!res.ok) {
          const body = await res.json().catch(() => null);
          throw new Error(errorText({ status: res.status, body }));
        }
        if ((res.headers.get('Content-Type') || '').startsWith('text/event-stream')) {
          setStreamState('live', 'live (Server-Sent Events)', 'sse');
          const opened = Date.now();
          await readSse(res, filters, conn);
          if (Date.now() - opened < 5000 && !stop.signal.aborted) {  // closed at once: do not spin
            await sleep(backoff, stop.signal);
            backoff = Math.min(backoff * 2, 15000);
          } else {
            backoff = 500;
          }
        } else {
          backoff = 500;
          sse = false;  // a JSON page: this server has no SSE
          setStreamState('live', 'live (long poll: this server has no SSE)', 'longpoll');
          const page = await res.json();
          if (state.lastSeq === null) first = page.next_since;
          onEvents(page.changes || [], filters);
        }
      } catch (e) {
        if (stop.signal.aborted) break;
        if (!conn.signal.aborted) {
          setStreamState('error', `disconnected (${e.message}); reconnecting`);
          await sleep(backoff, stop.signal);
          backoff = Math.min(backoff * 2, 15000);
        }
      } finally {
        stop.signal.removeEventListener('abort', onStop);
      }
      if (sse && !stop.signal.aborted) setStreamState('connecting', 'reconnecting…');
    }
  }

  function startTail(since) {
    if (state.stream) state.stream.abort();
    const stop = new AbortController();
    state.stream = stop;
    const filters = state.filters;
    setStreamState('connecting', 'connecting…');
    tail(stop, filters, since);
  }

  function applyFilters() {
    const f = {
      source: $('filter-source').value,
      resource: $('filter-resource').value.split(',').map((x) => x.trim()).filter(Boolean).join(','),
      operation: $('filter-operation').value,
    };
    const old = state.filters;
    if (f.source === old.source && f.resource === old.resource && f.operation === old.operation) return;
    state.filters = f;
    for (const li of [...$('events').children]) {
      if (!matches(li.event, f)) li.remove();
    }
    state.held = state.held.filter((ev) => matches(ev, f));
    noteHeld();
    $('tail-empty').hidden = $('events').children.length > 0;
    startTail(state.lastSeq !== null ? state.lastSeq : 'now');
  }

  function setPaused(paused) {
    state.paused = paused;
    const b = $('pause');
    b.setAttribute('aria-pressed', String(paused));
    if (!paused && state.held.length) {
      const held = state.held;
      state.held = [];
      showEvents(held);
      announce(held.length);
    }
    noteHeld();
  }

  // ---- wiring ----
  function init() {
    $('events').dataset.max = String(TAIL_MAX);
    $('forget-token').hidden = !state.token;
    $('forget-token').addEventListener('click', () => {
      sessionStorage.removeItem(TOKEN_KEY);
      window.location.reload();
    });
    $('token-dialog').addEventListener('cancel', (ev) => ev.preventDefault());  // nothing works without it
    $('resync-form').addEventListener('submit', confirmResync);
    $('resync-cancel').addEventListener('click', () => $('resync-dialog').close());
    $('resync-dialog').addEventListener('close', () => {
      const t = state.resyncTarget;
      state.resyncTarget = null;
      if (t) t.refs.resync.focus();
    });
    const form = $('filters');
    form.addEventListener('submit', (ev) => { ev.preventDefault(); applyFilters(); });
    $('filter-source').addEventListener('change', applyFilters);
    $('filter-operation').addEventListener('change', applyFilters);
    $('filter-resource').addEventListener('change', applyFilters);
    $('pause').addEventListener('click', () => setPaused(!state.paused));
    $('clear').addEventListener('click', () => {
      $('events').replaceChildren();
      state.held = [];
      noteHeld();
      $('tail-empty').hidden = false;
    });
    $('announce').addEventListener('change', () => {
      if (!$('announce').checked) setText($('tail-announcer'), '');
    });
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden) refresh();
    });
    refresh().then(() => {
      startTail(state.head !== null ? Math.max(0, state.head - TAIL_BACKLOG) : 'now');
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
