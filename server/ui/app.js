// memory_ext's memory browser: a small single-page application over the
// REST endpoints of memory-server. The API key the user types in stays in
// this tab's session storage and travels only in the Authorization header.
// Every piece of data reaches the page as text (textContent, never markup).
'use strict';

const KEY = 'memory_ext.key';
const WHO = 'memory_ext.who';
const PAGE_SIZE = 50;
const main = document.getElementById('main');
const nav = document.getElementById('nav');
const statusBox = document.getElementById('status');
// The last view's render time in ms (read by the browser test).
window.memoryBrowser = { renders: 0, lastMs: 0, view: '' };

// ------------------------------------------------------------ helpers

function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of kids.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

function svg(tag, attrs, ...kids) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') el.textContent = v;
    else el.setAttribute(k, String(v));
  }
  for (const c of kids) if (c) el.append(c);
  return el;
}

function when(t) {
  if (!t) return '';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  return d.toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

function num(x) {
  return typeof x === 'number' ? (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3)) : String(x);
}

function compact(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object' && Object.keys(v).length === 0) return '';
  return JSON.stringify(v);
}

function say(text) {
  statusBox.textContent = text;
  clearTimeout(say.timer);
  say.timer = setTimeout(() => { statusBox.textContent = ''; }, 4000);
}

function errorBox(e) {
  return h('p', { class: 'error', role: 'alert', text: e.message || String(e) });
}

class ApiError extends Error {
  constructor(status, detail) { super(detail); this.status = status; }
}

async function api(method, path, body) {
  const key = sessionStorage.getItem(KEY);
  const headers = { Accept: 'application/json' };
  if (key) headers.Authorization = 'Token ' + key;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit', cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(0, 'The service cannot be reached: ' + e.message);
  }
  let data = null;
  try { data = await resp.json(); } catch (e) { data = null; }
  if (!resp.ok) {
    const detail = data && data.detail ? (typeof data.detail === 'string' ? data.detail : JSON.stringify(data.detail)) : resp.statusText;
    if (resp.status === 401 && path !== '/v1/ping/') signOut('Your key was refused; sign in again.');
    throw new ApiError(resp.status, `${resp.status}: ${detail}`);
  }
  return data;
}

function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') u.append(k, v);
  const s = u.toString();
  return s ? '?' + s : '';
}

function who() {
  try { return JSON.parse(sessionStorage.getItem(WHO) || 'null'); } catch (e) { return null; }
}

const SCOPES = ['user', 'agent', 'run'];
function scopeKey(type) { return type + '_id'; }
function scopeHash(type, name) { return `#/scope/${type}/${encodeURIComponent(name)}`; }

// A confirmation dialog that names what will go; resolves true on Delete.
function confirmDelete(text, action) {
  const dlg = document.getElementById('confirm');
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-ok').textContent = action || 'Delete';
  return new Promise((resolve) => {
    dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
    dlg.returnValue = 'cancel';
    dlg.showModal();
  });
}

// ------------------------------------------------------------ sign in / out

function signOut(message) {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(WHO);
  signOut.message = message || '';
  if (location.hash !== '#/') location.hash = '#/'; else render();
}

function loginView() {
  const input = h('input', { type: 'password', id: 'key', name: 'key', autocomplete: 'off', required: true,
    'aria-describedby': 'key-help' });
  const out = h('div');
  if (signOut.message) out.append(h('p', { class: 'error', role: 'alert', text: signOut.message }));
  const form = h('form', { class: 'login', id: 'login', onsubmit: async (ev) => {
    ev.preventDefault();
    out.textContent = '';
    const key = input.value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    try {
      const p = await api('GET', '/v1/ping/');
      sessionStorage.setItem(WHO, JSON.stringify({ type: p.key_type, user_id: p.user_id, name: p.project_id }));
      signOut.message = '';
      input.value = '';
      render();
    } catch (e) {
      sessionStorage.removeItem(KEY);
      out.append(errorBox(e.status === 401 ? new Error('This key was refused.') : e));
    }
  } },
  h('label', { for: 'key', text: 'API key' }), input,
  h('p', { id: 'key-help', class: 'muted',
    text: 'A key made with memory.create_api_key. It is kept in this tab only and sent in the Authorization header.' }),
  h('button', { class: 'primary', type: 'submit', id: 'sign-in', text: 'Sign in' }));
  return [h('h1', { text: 'Sign in to the memory browser' }), form, out];
}

function renderNav() {
  nav.textContent = '';
  const w = who();
  if (!w) return;
  nav.append(h('a', { href: '#/', text: 'Scopes' }));
  const label = w.type === 'user' ? `user key: ${w.user_id}` : `${w.type} key: ${w.name}`;
  nav.append(h('span', { class: 'who', id: 'who', text: label }));
  nav.append(h('button', { type: 'button', id: 'sign-out', text: 'Sign out', onclick: () => signOut() }));
}

// ------------------------------------------------------------ scopes

async function scopesView() {
  const w = who();
  const data = await api('GET', '/v1/entities/');
  const rows = data.results || [];
  const filter = h('input', { type: 'search', id: 'scope-filter', placeholder: 'Filter by name', 'aria-label': 'Filter scopes by name' });
  const body = h('tbody');
  const limit = 500;
  const draw = () => {
    body.textContent = '';
    const f = filter.value.trim().toLowerCase();
    const shown = rows.filter((r) => !f || String(r.name).toLowerCase().includes(f));
    for (const r of shown.slice(0, limit)) {
      // A project key acts only for named users: agents and runs are
      // opened from their user's page (the Filters box).
      const linkable = SCOPES.includes(r.type) && (r.type === 'user' || w.type !== 'project');
      const name = linkable ? h('a', { href: scopeHash(r.type, r.name), text: r.name }) : r.name;
      body.append(h('tr', {}, h('td', { text: r.type }), h('td', {}, name),
        h('td', { class: 'num', text: r.total_memories }), h('td', { class: 'hide-narrow', text: when(r.created_at) }),
        h('td', { text: when(r.updated_at) })));
    }
    more.textContent = shown.length > limit ? `${shown.length - limit} more: narrow the filter.` : '';
  };
  const more = h('p', { class: 'muted' });
  filter.addEventListener('input', draw);
  draw();
  const open = h('form', { class: 'toolbar', id: 'open-user', onsubmit: (ev) => {
    ev.preventDefault();
    const v = ev.target.elements.user.value.trim();
    if (v) location.hash = scopeHash('user', v);
  } }, h('label', { class: 'grow' }, 'Open a user by id', h('input', { type: 'text', name: 'user', id: 'open-user-id' })),
  h('button', { type: 'submit', text: 'Open' }));
  return [
    h('h1', { text: 'Users, agents and runs' }),
    h('p', { class: 'muted', text: `${data.count ?? rows.length} with current memories. Last activity is the newest update.` }),
    h('div', { class: 'toolbar' }, h('label', { class: 'grow' }, 'Filter', filter)),
    h('div', { class: 'table-wrap' }, h('table', { id: 'scopes' },
      h('thead', {}, h('tr', {}, h('th', { text: 'Type' }), h('th', { text: 'Name' }), h('th', { class: 'num', text: 'Memories' }),
        h('th', { class: 'hide-narrow', text: 'First' }), h('th', { text: 'Last activity' }))),
      body)),
    more,
    open,
  ];
}

// ------------------------------------------------------------ one scope

function tierTag(m) {
  const t = m.tier || 'hot';
  return h('span', { class: 'tag tier-' + t, text: t });
}

function memoryRow(m, scope, onDeleted, extra) {
  const del = h('button', { type: 'button', class: 'row-delete', 'aria-label': 'Delete this memory', text: 'Delete',
    onclick: async () => {
      if (!await confirmDelete(`Delete this memory of ${scope.type} ${scope.name}?\n“${m.memory}”`)) return;
      try {
        await api('DELETE', `/v1/memories/${encodeURIComponent(m.id)}/`);
        say('Memory deleted.');
        onDeleted();
      } catch (e) { say(e.message); }
    } });
  return h('tr', { 'data-id': m.id },
    extra,
    h('td', { class: 'memory' }, h('a', { href: '#/memory/' + encodeURIComponent(m.id), class: 'memory-link', text: m.memory })),
    h('td', {}, (m.categories || []).map((c) => h('span', { class: 'tag', text: c }))),
    h('td', { class: 'hide-narrow' }, h('span', { class: 'json', text: compact(m.metadata) })),
    h('td', { class: 'hide-narrow', text: when(m.created_at) }),
    h('td', { text: when(m.updated_at) }),
    h('td', {}, tierTag(m)),
    h('td', { class: 'hide-narrow', text: m.expiration_date ? when(m.expiration_date) : '' }),
    h('td', {}, del));
}

function memoryTable(id, head, rows) {
  return h('div', { class: 'table-wrap' }, h('table', { id },
    h('thead', {}, h('tr', {}, head, h('th', { text: 'Memory' }), h('th', { text: 'Categories' }),
      h('th', { class: 'hide-narrow', text: 'Metadata' }), h('th', { class: 'hide-narrow', text: 'Created' }),
      h('th', { text: 'Updated' }), h('th', { text: 'Tier' }), h('th', { class: 'hide-narrow', text: 'Expires' }),
      h('th', { text: '' }))),
    h('tbody', {}, rows)));
}

function explainView(x) {
  const parts = [];
  for (const [k, v] of Object.entries(x || {})) {
    if (v && typeof v === 'object') {
      if ('rank' in v || 'score' in v) parts.push(`${k} #${v.rank ?? '–'} (${num(v.score)})`);
      else for (const [k2, v2] of Object.entries(v)) if (v2) parts.push(`${k}.${k2} ${num(v2)}`);
    } else if (typeof v === 'number') {
      if (v) parts.push(`${k} ${num(v)}`);
    } else if (v) parts.push(`${k} ${v}`);
  }
  return h('div', { class: 'explain' }, parts.map((p) => h('span', { text: p })));
}

async function scopeView(type, name, params) {
  if (!SCOPES.includes(type)) throw new Error('Unknown scope type: ' + type);
  const scope = { type, name };
  const page = Math.max(1, parseInt(params.get('page') || '1', 10) || 1);
  const query = params.get('q') || '';
  const filterText = params.get('filters') || '';
  let filters;
  if (filterText) {
    try { filters = JSON.parse(filterText); } catch (e) { throw new Error('Filters are not valid JSON: ' + e.message); }
  }
  const base = { [scopeKey(type)]: name };
  if (filters) base.filters = filters;
  const go = (over) => {
    const p = new URLSearchParams();
    const next = Object.assign({ q: query, filters: filterText, page: String(page) }, over);
    for (const [k, v] of Object.entries(next)) if (v && !(k === 'page' && v === '1')) p.set(k, v);
    const s = p.toString();
    const target = scopeHash(type, name) + (s ? '?' + s : '');
    if (location.hash === target) render(); else location.hash = target;
  };

  const out = [h('h1', {}, `${type} `, h('span', { id: 'scope-name', text: name }))];
  const qInput = h('input', { type: 'search', id: 'search-q', name: 'q', value: query, 'aria-label': 'Search query' });
  const fInput = h('textarea', { id: 'filters', name: 'filters', rows: 1, 'aria-label': 'Mem0 filters (JSON)',
    placeholder: '{"categories": {"contains": "food"}}' });
  fInput.value = filterText;
  out.push(h('form', { class: 'toolbar', id: 'search-form', role: 'search', onsubmit: (ev) => {
    ev.preventDefault();
    go({ q: qInput.value.trim(), filters: fInput.value.trim(), page: '1' });
  } },
  h('label', { class: 'grow' }, 'Search (hybrid: vectors, keywords, graph)', qInput),
  h('label', { class: 'grow' }, 'Filters (Mem0 JSON, optional)', fInput),
  h('button', { type: 'submit', class: 'primary', id: 'search-go', text: query ? 'Search' : 'Apply' }),
  query || filterText ? h('button', { type: 'button', text: 'Clear', onclick: () => go({ q: '', filters: '', page: '1' }) }) : null));

  if (query) {
    const res = await api('POST', '/v3/memories/search/', Object.assign({ query, top_k: 20, explain: true }, base));
    const hits = res.results || [];
    out.push(h('h2', { text: `${hits.length} hits for “${query}”` }));
    out.push(memoryTable('hits', h('th', { class: 'num', text: 'Rank · score' }),
      hits.map((m, i) => memoryRow(m, scope, () => go({}),
        h('td', { class: 'num' }, `${i + 1} · ${num(m.score)}`, explainView(m.explain))))));
    const rel = res.relations || [];
    if (rel.length) {
      out.push(h('h2', { text: 'Related facts from the graph' }));
      out.push(h('ul', { id: 'hit-relations' }, rel.map((r) => h('li', { text: `${r.source} — ${r.relationship} → ${r.destination}` }))));
    }
    return out;
  }

  const data = await api('POST', `/v3/memories/${qs({ page, page_size: PAGE_SIZE })}`, base);
  const count = data.count || 0;
  const pages = Math.max(1, Math.ceil(count / PAGE_SIZE));
  const rows = (data.results || []).map((m) => memoryRow(m, scope, () => go({})));
  const tools = h('div', { class: 'toolbar' },
    h('a', { href: `#/graph/${type}/${encodeURIComponent(name)}`, id: 'graph-link', text: 'Knowledge graph' }),
    h('button', { type: 'button', class: 'danger', id: 'delete-scope', disabled: count === 0,
      text: `Delete all memories of this ${type}`,
      onclick: async () => {
        const total = (await api('POST', `/v3/memories/${qs({ page: 1, page_size: 1 })}`, { [scopeKey(type)]: name })).count || 0;
        const word = total === 1 ? 'memory' : 'memories';
        if (!await confirmDelete(`Delete all ${total} ${word} of ${type} ${name}, with their history and graph? This cannot be undone.`,
          `Delete ${total} ${word}`)) return;
        try {
          const r = await api('DELETE', `/v1/memories/${qs({ [scopeKey(type)]: name })}`);
          say(`${r.deleted ?? total} memories deleted.`);
          go({ page: '1' });
        } catch (e) { say(e.message); }
      } }));
  const pager = h('div', { class: 'pager' },
    h('button', { type: 'button', id: 'prev', disabled: page <= 1, text: '← Previous', onclick: () => go({ page: String(page - 1) }) }),
    h('span', { id: 'page-info', text: `Page ${Math.min(page, pages)} of ${pages} · ${count} memories` }),
    h('button', { type: 'button', id: 'next', disabled: page >= pages, text: 'Next →', onclick: () => go({ page: String(page + 1) }) }));
  out.push(tools, pager, memoryTable('memories', null, rows));
  if (!rows.length) out.push(h('p', { class: 'muted', id: 'empty', text: 'No current memories here.' }));
  return out;
}

// ------------------------------------------------------------ one memory

async function memoryView(id) {
  const out = [];
  let mem = null;
  try {
    mem = await api('GET', `/v1/memories/${encodeURIComponent(id)}/`);
  } catch (e) {
    if (e.status !== 404) throw e;
  }
  const hist = await api('GET', `/v1/memories/${encodeURIComponent(id)}/history/`).catch((e) => {
    if (e.status === 404) return [];
    throw e;
  });
  if (!mem && !hist.length) throw new Error('Memory not found (or not yours to see).');
  out.push(h('h1', { text: mem ? 'Memory' : 'Memory (deleted)' }));
  if (mem) {
    const scope = SCOPES.map((t) => mem[scopeKey(t)] ? [t, mem[scopeKey(t)]] : null).filter(Boolean);
    out.push(h('div', { class: 'card' }, h('dl', { class: 'props', id: 'memory-props' },
      h('dt', { text: 'Text' }), h('dd', { id: 'memory-text', text: mem.memory }),
      h('dt', { text: 'Scope' }), h('dd', {}, scope.map(([t, n], i) => [i ? ', ' : '', `${t} `, h('a', { href: scopeHash(t, n), text: n })])),
      h('dt', { text: 'Categories' }), h('dd', {}, (mem.categories || []).map((c) => h('span', { class: 'tag', text: c }))),
      h('dt', { text: 'Metadata' }), h('dd', { class: 'json', text: compact(mem.metadata) || '{}' }),
      h('dt', { text: 'Created' }), h('dd', { text: when(mem.created_at) }),
      h('dt', { text: 'Updated' }), h('dd', { text: when(mem.updated_at) }),
      h('dt', { text: 'Tier' }), h('dd', {}, tierTag(mem)),
      h('dt', { text: 'Expires' }), h('dd', { text: mem.expiration_date ? when(mem.expiration_date) : 'never' }),
      h('dt', { text: 'Id' }), h('dd', { class: 'json', text: mem.id }))));
    const text = h('textarea', { id: 'edit-text', rows: 3, 'aria-label': 'Memory text' });
    text.value = mem.memory;
    const meta = h('textarea', { id: 'edit-metadata', rows: 3, 'aria-label': 'Metadata (JSON object)' });
    const metaBefore = JSON.stringify(mem.metadata || {}, null, 1);
    meta.value = metaBefore;
    const msg = h('div');
    out.push(h('h2', { text: 'Edit' }), h('form', { id: 'edit-form', class: 'card', onsubmit: async (ev) => {
      ev.preventDefault();
      msg.textContent = '';
      const body = {};
      if (text.value.trim() !== mem.memory) body.text = text.value.trim();
      if (meta.value.trim() !== metaBefore.trim()) {
        try { body.metadata = JSON.parse(meta.value); } catch (e) { msg.append(errorBox(new Error('Metadata is not valid JSON: ' + e.message))); return; }
        if (!body.metadata || typeof body.metadata !== 'object' || Array.isArray(body.metadata)) {
          msg.append(errorBox(new Error('Metadata must be a JSON object.'))); return;
        }
      }
      if (!Object.keys(body).length) { say('Nothing changed.'); return; }
      if (body.text === '') { msg.append(errorBox(new Error('The text must not be empty.'))); return; }
      try {
        await api('PUT', `/v1/memories/${encodeURIComponent(id)}/`, body);
        say('Memory saved.');
        render();
      } catch (e) { msg.append(errorBox(e)); }
    } },
    h('label', { for: 'edit-text', text: 'Text' }), text,
    h('label', { for: 'edit-metadata', text: 'Metadata (JSON object)' }), meta,
    h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary', id: 'edit-save', text: 'Save' }),
      h('button', { type: 'button', class: 'danger', id: 'memory-delete', text: 'Delete memory', onclick: async () => {
        if (!await confirmDelete(`Delete this memory?\n“${mem.memory}”`)) return;
        try {
          await api('DELETE', `/v1/memories/${encodeURIComponent(id)}/`);
          say('Memory deleted.');
          render();
        } catch (e) { msg.append(errorBox(e)); }
      } })),
    msg));
  }
  out.push(h('h2', { text: 'History' }));
  out.push(h('ol', { class: 'timeline', id: 'history' }, hist.map((r) => h('li', { 'data-event': r.event },
    h('div', {}, h('span', { class: 'event event-' + r.event, text: r.event }), h('span', { class: 'muted', text: when(r.created_at) }),
      r.reason ? h('span', { class: 'muted', text: ` · ${r.reason}` }) : null),
    r.old_memory !== null && r.old_memory !== undefined ? h('div', { class: 'old', text: r.old_memory }) : null,
    r.new_memory !== null && r.new_memory !== undefined ? h('div', { class: 'new', text: r.new_memory }) : null))));
  if (!hist.length) out.push(h('p', { class: 'muted', text: 'No history.' }));
  return out;
}

// ------------------------------------------------------------ graph

// A force-directed layout: repulsion between all entities, springs along
// relations, a pull to the centre; deterministic (start on a circle).
function layout(nodes, edges, width, height) {
  const n = nodes.length;
  const index = new Map(nodes.map((v, i) => [v.id, i]));
  const links = edges.map((e) => [index.get(e.source_id), index.get(e.destination_id)]).filter(([a, b]) => a !== undefined && b !== undefined && a !== b);
  // Start on a circle in depth-first order, so related entities start side
  // by side and their edges do not cross the middle.
  const adj = nodes.map(() => []);
  for (const [a, b] of links) { adj[a].push(b); adj[b].push(a); }
  const order = [], seen = new Uint8Array(n);
  for (let s = 0; s < n; s++) {
    if (seen[s]) continue;
    const stack = [s];
    while (stack.length) {
      const v = stack.pop();
      if (seen[v]) continue;
      seen[v] = 1; order.push(v);
      for (const w of adj[v]) if (!seen[w]) stack.push(w);
    }
  }
  const pos = new Array(n);
  order.forEach((v, i) => {
    const a = (2 * Math.PI * i) / Math.max(n, 1) + 0.3;
    pos[v] = { x: width / 2 + Math.cos(a) * width * 0.35, y: height / 2 + Math.sin(a) * height * 0.35 };
  });
  const k = Math.sqrt((width * height) / Math.max(n, 1)) * 0.6;
  const rounds = n > 150 ? 120 : 300;
  for (let it = 0; it < rounds; it++) {
    const t = (1 - it / rounds) * k * 0.5;
    const dx = new Float64Array(n), dy = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        let x = pos[i].x - pos[j].x, y = pos[i].y - pos[j].y;
        let d2 = x * x + y * y;
        if (d2 < 0.01) { x = 0.1 * (i - j); y = 0.1; d2 = x * x + y * y; }
        const f = (k * k) / d2;
        dx[i] += x * f; dy[i] += y * f; dx[j] -= x * f; dy[j] -= y * f;
      }
    }
    for (const [a, b] of links) {
      const x = pos[a].x - pos[b].x, y = pos[a].y - pos[b].y;
      const d = Math.sqrt(x * x + y * y) || 0.01;
      const f = d / k;
      dx[a] -= x * f; dy[a] -= y * f; dx[b] += x * f; dy[b] += y * f;
    }
    for (let i = 0; i < n; i++) {
      dx[i] += (width / 2 - pos[i].x) * 0.6; dy[i] += (height / 2 - pos[i].y) * 0.6;
      const d = Math.sqrt(dx[i] * dx[i] + dy[i] * dy[i]) || 1;
      pos[i].x += (dx[i] / d) * Math.min(d, t);
      pos[i].y += (dy[i] / d) * Math.min(d, t);
    }
  }
  // Fit the drawing into the box (labels need room on the right).
  const xs = pos.map((p) => p.x), ys = pos.map((p) => p.y);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const sy = Math.min((width - 160) / Math.max(x1 - x0, 1), (height - 60) / Math.max(y1 - y0, 1), 1.5);
  // Wider than tall, as the box is (at most 1.6 times stretched).
  const sx = Math.min((width - 160) / Math.max(x1 - x0, 1), sy * 1.6);
  const ox = (width - 100 - (x1 - x0) * sx) / 2, oy = (height - (y1 - y0) * sy) / 2;
  return pos.map((p) => ({ x: ox + (p.x - x0) * sx, y: oy + (p.y - y0) * sy }));
}

function drawGraph(g) {
  const width = 900, height = 560;
  const nodes = g.entities || [];
  const edges = g.relations || [];
  const pos = layout(nodes, edges, width, height);
  const at = new Map(nodes.map((v, i) => [v.id, pos[i]]));
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', id: 'graph-svg',
    'aria-label': `Knowledge graph: ${nodes.length} entities, ${edges.length} relations` });
  const defs = svg('defs', {}, svg('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 22, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
    svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: '#8a96a8' })));
  root.append(defs);
  for (const e of edges) {
    const a = at.get(e.source_id), b = at.get(e.destination_id);
    if (!a || !b) continue;
    root.append(svg('line', { class: 'edge', x1: a.x, y1: a.y, x2: b.x, y2: b.y, 'marker-end': 'url(#arrow)' },
      svg('title', { text: `${e.source} — ${e.relationship} → ${e.destination}` })));
    root.append(svg('text', { class: 'edge-label', x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 3, 'text-anchor': 'middle', text: e.relationship }));
  }
  nodes.forEach((v, i) => {
    root.append(svg('g', { class: 'node', transform: `translate(${pos[i].x},${pos[i].y})` },
      svg('circle', { r: 9 }), svg('text', { x: 12, y: 4, text: v.name }),
      svg('title', { text: v.type ? `${v.name} (${v.type})` : v.name })));
  });
  return root;
}

async function graphView(type, name, params) {
  if (!SCOPES.includes(type)) throw new Error('Unknown scope type: ' + type);
  const asOf = params.get('as_of') || '';
  const g = await api('GET', `/v1/graph/${qs({ [scopeKey(type)]: name, as_of: asOf })}`);
  const out = [h('h1', {}, 'Knowledge graph of ', `${type} `, h('a', { href: scopeHash(type, name), text: name }))];
  const now = Date.now();
  const since = g.since ? Date.parse(g.since) : now;
  const max = Math.ceil(now / 1000);
  const value = asOf ? Math.min(max, Math.round(Date.parse(asOf) / 1000)) : max;
  const label = h('output', { id: 'as-of-label', for: 'as-of', text: asOf ? when(asOf) : 'now' });
  const slider = h('input', { type: 'range', id: 'as-of', min: Math.min(max, Math.floor(since / 1000)), max, step: 1,
    value, 'aria-label': 'Show the graph as it stood at', disabled: !g.since });
  slider.addEventListener('input', () => {
    const t = Number(slider.value) * 1000;
    label.textContent = Number(slider.value) >= Number(slider.max) ? 'now' : when(new Date(t).toISOString());
  });
  slider.addEventListener('change', () => {
    const latest = Number(slider.value) >= Number(slider.max);
    const p = latest ? '' : '?' + new URLSearchParams({ as_of: new Date(Number(slider.value) * 1000).toISOString() }).toString();
    location.hash = `#/graph/${type}/${encodeURIComponent(name)}${p}`;
  });
  out.push(h('div', { class: 'slider' }, h('label', { for: 'as-of', text: 'As of' }), slider, label,
    asOf ? h('a', { href: `#/graph/${type}/${encodeURIComponent(name)}`, text: 'Back to now' }) : null));
  const rel = g.relations || [];
  out.push(h('p', { class: 'muted', id: 'graph-summary',
    text: `${(g.entities || []).length} entities, ${rel.length} relations${g.truncated ? ' (the oldest 1000 shown)' : ''}.` }));
  if (rel.length) out.push(h('div', { class: 'graph-box' }, drawGraph(g)));
  out.push(h('h2', { text: 'Relations' }));
  out.push(h('div', { class: 'table-wrap' }, h('table', { id: 'relations' },
    h('thead', {}, h('tr', {}, h('th', { text: 'Source' }), h('th', { text: 'Relation' }), h('th', { text: 'Destination' }),
      h('th', { text: 'Since' }), h('th', { text: 'Until' }), h('th', { text: 'From memory' }))),
    h('tbody', {}, rel.map((r) => h('tr', {}, h('td', { text: r.source }), h('td', { text: r.relationship }), h('td', { text: r.destination }),
      h('td', { text: when(r.valid_from) }), h('td', { text: r.valid_to ? when(r.valid_to) : '' }),
      h('td', {}, r.memory_id ? h('a', { href: '#/memory/' + encodeURIComponent(r.memory_id), text: 'open' }) : '')))))));
  if (!rel.length) out.push(h('p', { class: 'muted', text: 'No relations at this time.' }));
  return out;
}

// ------------------------------------------------------------ router

async function render() {
  const started = performance.now();
  const seq = (render.seq = (render.seq || 0) + 1);
  renderNav();
  const w = who();
  const [path, query] = (location.hash.replace(/^#/, '') || '/').split('?');
  const params = new URLSearchParams(query || '');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  let view = 'login';
  let content;
  try {
    if (!w) content = loginView();
    else if (parts[0] === 'scope' && parts.length === 3) { view = 'scope'; content = await scopeView(parts[1], parts[2], params); }
    else if (parts[0] === 'memory' && parts.length === 2) { view = 'memory'; content = await memoryView(parts[1]); }
    else if (parts[0] === 'graph' && parts.length === 3) { view = 'graph'; content = await graphView(parts[1], parts[2], params); }
    else { view = 'scopes'; content = await scopesView(); }
  } catch (e) {
    view = 'error';
    content = [h('h1', { text: 'Could not load this page' }), errorBox(e), h('p', {}, h('a', { href: '#/', text: 'Back to the scopes' }))];
  }
  if (seq !== render.seq) return; // a later navigation won
  main.textContent = '';
  main.append(...[content].flat());
  main.dataset.view = view;
  const b = window.memoryBrowser;
  b.renders += 1;
  b.lastMs = performance.now() - started;
  b.view = view;
  document.title = `memory_ext · ${view === 'login' ? 'sign in' : view}`;
}

window.addEventListener('hashchange', render);
render();
