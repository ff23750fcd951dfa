// nvr's web page: pick a camera and a day, see what was recorded (with motion and gaps), hover
// for thumbnails, click to play from that moment, export a range. Only the JSON API is used;
// see the README's API table. No framework, no external assets.
'use strict';

const DAY = 86400;
const $ = (sel) => document.querySelector(sel);
const enc = encodeURIComponent;
// from: the day's first second; v0 and span: the part of it the timeline shows.
const state = { camera: null, day: null, from: 0, v0: 0, span: DAY, segments: [], gaps: [], events: [] };

function el(tag, props = {}, ...children) {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

async function getJSON(url) {
  const r = await fetch(url);
  // The session ended (expired, logged out elsewhere, password changed): log in again.
  if (r.status === 401) { showLogin(true); throw new Error('logged out'); }
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

// JSON to a state-changing route (the server refuses anything else from a page).
const post = (url, body) => fetch(url, {
  method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
});

function showLogin(usersExist) {
  $('#camera').hidden = true;
  $('#who').hidden = true;
  $('#nouser').hidden = usersExist;
  $('#login').hidden = false;
  document.body.dataset.view = 'login';
}

async function logIn(ev) {
  ev.preventDefault();
  const r = await post('/api/login', { user: $('#name').value, password: $('#password').value });
  $('#password').value = '';
  if (r.ok) { location.reload(); return; }
  const e = await r.json().catch(() => ({}));
  $('#loginerror').textContent = e.error || `HTTP ${r.status}`;
}

async function logOut() {
  await post('/api/logout', {});
  location.reload();
}

function showError(e) {
  const p = $('#error');
  p.textContent = String(e.message || e);
  p.hidden = false;
}

const pad = (n) => String(n).padStart(2, '0');
const localDay = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
const clock = (t) => { const d = new Date(t * 1000); return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`; };
const seconds = (rfc3339) => Date.parse(rfc3339) / 1000;
const percent = (t) => `${((t - state.v0) / state.span) * 100}%`;
const width = (d) => `max(1px, ${(d / state.span) * 100}%)`;
const api = (path) => `/api/cameras/${enc(state.camera)}${path}`;

function bytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

function saveUrl(extra = {}) {
  const q = new URLSearchParams({ camera: state.camera, day: state.day, ...extra });
  history.replaceState(null, '', `?${q}`);
}

async function refreshStatus() {
  const status = await getJSON('/status');
  if (status.hostname) {
    // Which Pi this is, when there are several.
    $('header h1').textContent = `nvr · ${status.hostname}`;
    document.title = `nvr · ${status.hostname}`;
  }
  const s = status.storage || {};
  $('#storage').textContent = s.free_bytes != null ? `${bytes(s.bytes_used || 0)} recorded, ${bytes(s.free_bytes)} free` : '';
  for (const c of status.cameras || []) {
    const dot = document.querySelector(`nav a[data-camera="${CSS.escape(c.name)}"] .dot`);
    if (dot) dot.className = `dot ${c.state}`;
    if (c.name !== state.camera) continue;
    const badge = $('#state');
    badge.className = `badge ${c.state}`;
    badge.textContent = c.reason ? `${c.state}: ${c.reason}` : c.state;
    const m = $('#motion');
    m.className = `badge${c.motion && c.motion.active ? ' active' : ''}`;
    m.textContent = c.motion ? (c.motion.active ? 'motion now' : `motion: ${c.motion.events_today} today`) : '';
  }
}

async function loadCameras() {
  const [list, status] = await Promise.all([getJSON('/api/cameras'), getJSON('/status')]);
  const names = new Set((list.cameras || []).map((c) => c.name));
  for (const c of status.cameras || []) names.add(c.name);
  const nav = $('#cameras');
  nav.replaceChildren();
  for (const name of [...names].sort()) {
    const a = el('a', { href: `?camera=${enc(name)}`, textContent: name });
    a.dataset.camera = name;
    a.prepend(el('span', { className: 'dot' }));
    a.addEventListener('click', (ev) => { ev.preventDefault(); select(name); });
    nav.append(a);
  }
  return [...names].sort();
}

async function select(camera) {
  state.camera = camera;
  for (const a of document.querySelectorAll('nav a')) {
    if (a.dataset.camera === camera) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  $('#title').textContent = camera;
  saveUrl();
  await Promise.all([loadDay(), refreshStatus()]);
}

async function loadDay() {
  state.from = new Date(`${state.day}T00:00:00`).getTime() / 1000;
  const to = state.from + DAY;
  const [segs, events, coverage] = await Promise.all([
    getJSON(api(`/segments?from=${state.from}&to=${to}`)),
    getJSON(`/api/events?camera=${enc(state.camera)}&from=${state.from}&to=${to}`),
    getJSON(api(`/coverage?day=${state.day}`)).catch(() => null),
  ]);
  state.segments = (segs.segments || []).map((s) => ({ ...s, t0: seconds(s.start), t1: seconds(s.start) + s.duration_s }));
  state.gaps = ((coverage && coverage.coverage && coverage.coverage.gaps) || [])
    .map((g) => ({ ...g, t0: Math.max(seconds(g.from), state.from), t1: Math.min(seconds(g.to), to) }))
    .filter((g) => g.t1 > g.t0);
  state.events = (events.events || []).map((e) => ({ ...e, t0: seconds(e.start), t1: e.end ? seconds(e.end) : seconds(e.start) }));
  const last = state.segments.length ? state.segments[state.segments.length - 1].t1 : state.from + DAY / 2;
  zoom(state.span, last);

  const list = $('#events');
  list.replaceChildren();
  for (const e of state.events) {
    const li = el('li', {}, el('img', { src: e.snapshot, alt: `event ${e.id}`, loading: 'lazy' }),
      `${clock(e.t0)}–${clock(e.t1)} · peak ${(e.peak_score * 100).toFixed(1)} %`);
    li.addEventListener('click', () => play(e.t0 - 5));
    list.append(li);
  }
  const recorded = state.segments.reduce((n, s) => n + s.duration_s, 0);
  const cov = coverage && coverage.coverage;
  $('#summary').textContent = `${state.segments.length} segments, ${(recorded / 3600).toFixed(2)} h recorded` +
    (cov ? ` (${(cov.ratio * 100).toFixed(1)} % of the time so far)` : '') + `, ${state.events.length} motion events`;
}

// Shows `span` seconds of the day around `center`.
function zoom(span, center) {
  state.span = span;
  state.v0 = Math.min(Math.max(center - span / 2, state.from), state.from + DAY - span);
  draw();
}

function draw() {
  const v1 = state.v0 + state.span;
  const visible = (a, b) => b > state.v0 && a < v1;
  // A block clipped to the window.
  const place = (d, a, b) => {
    const a1 = Math.max(a, state.v0);
    Object.assign(d.style, { left: percent(a1), width: width(Math.min(b, v1) - a1) });
  };
  const track = $('#track');
  track.replaceChildren();
  for (const g of state.gaps.filter((g) => visible(g.t0, g.t1))) {
    const d = el('div', { className: 'gap', title: `${clock(g.t0)}–${clock(g.t1)}: ${g.reason}` });
    place(d, g.t0, g.t1);
    track.append(d);
  }
  for (const s of state.segments.filter((s) => visible(s.t0, s.t1))) {
    const d = el('div', { className: s.has_motion ? 'seg motion' : 'seg' });
    place(d, s.t0, s.t1);
    track.append(d);
  }
  for (const e of state.events.filter((e) => visible(e.t0, e.t1))) {
    const d = el('div', { className: 'event', title: `motion ${clock(e.t0)}–${clock(e.t1)}` });
    d.style.left = percent(e.t0);
    track.append(d);
  }
  // About eight labels, on round times.
  const step = [60, 300, 600, 1800, 3600, 10800].find((s) => state.span / s <= 8) || 10800;
  const hours = $('#hours');
  hours.replaceChildren();
  for (let t = Math.ceil(state.v0 / step) * step; t <= v1; t += step) {
    const s = el('span', { textContent: clock(t).slice(0, 5) });
    s.style.left = percent(t);
    hours.append(s);
  }
}

// The segment holding t, or the first one after it.
function segmentAt(t) {
  return state.segments.find((s) => t < s.t1 && t >= s.t0) || state.segments.find((s) => s.t0 > t);
}

function timeAt(ev) {
  const r = $('#track').getBoundingClientRect();
  return state.v0 + Math.min(Math.max((ev.clientX - r.left) / r.width, 0), 1) * state.span;
}

function setExport(from, to) {
  $('#from').value = clock(from);
  $('#to').value = clock(to);
  updateDownload();
}

function updateDownload() {
  const parse = (v) => { const [h, m, s] = v.split(':').map(Number); return state.from + h * 3600 + m * 60 + (s || 0); };
  const from = parse($('#from').value || '00:00:00'), to = parse($('#to').value || '00:00:00');
  $('#download').href = api(`/export.mp4?from=${Math.floor(from)}&to=${Math.ceil(to)}`);
  $('#download').download = `${state.camera}-${state.day}-${$('#from').value.replaceAll(':', '')}.mp4`;
}

function play(t) {
  const s = segmentAt(t);
  if (!s) return;
  const from = Math.floor(Math.max(t, s.t0));
  const video = $('#video');
  delete video.dataset.loaded;
  delete video.dataset.error;
  video.src = api(`/export.mp4?from=${from}&to=${from + 600}`);
  video.play().catch(() => {});
  $('#playing').textContent = `playing from ${clock(from)}`;
  if (from < state.v0 || from > state.v0 + state.span) zoom(state.span, from);
  setExport(from, from + 600);
  saveUrl({ t: from });
}

function init() {
  const video = $('#video');
  // For people and for the test: what the player made of the export.
  video.addEventListener('loadedmetadata', () => { video.dataset.loaded = `${video.videoWidth}x${video.videoHeight}`; });
  video.addEventListener('error', () => { video.dataset.error = video.error ? String(video.error.code) : 'error'; });
  const cursor = $('#cursor');
  const timeline = $('#timeline');
  timeline.addEventListener('mousemove', (ev) => {
    const t = timeAt(ev);
    const s = segmentAt(t);
    cursor.hidden = false;
    cursor.style.left = percent(t);
    cursor.querySelector('span').textContent = clock(t);
    const img = cursor.querySelector('img');
    const thumb = s && t >= s.t0 ? s.thumbnail : '';
    if (img.getAttribute('src') !== thumb) img.src = thumb;
  });
  timeline.addEventListener('mouseleave', () => { cursor.hidden = true; });
  timeline.addEventListener('click', (ev) => play(timeAt(ev)));
  const day = $('#day');
  day.addEventListener('change', () => { state.day = day.value; saveUrl(); loadDay().catch(showError); });
  const shift = (n) => {
    const d = new Date(`${state.day}T12:00:00`);
    d.setDate(d.getDate() + n);
    state.day = day.value = localDay(d);
    saveUrl();
    loadDay().catch(showError);
  };
  $('#span').addEventListener('change', () => zoom(Number($('#span').value), state.v0 + state.span / 2));
  $('#back').addEventListener('click', () => zoom(state.span, state.v0));
  $('#forward').addEventListener('click', () => zoom(state.span, state.v0 + state.span));
  $('#prev').addEventListener('click', () => shift(-1));
  $('#next').addEventListener('click', () => shift(1));
  $('#from').addEventListener('change', updateDownload);
  $('#to').addEventListener('change', updateDownload);

  const q = new URLSearchParams(location.search);
  state.day = q.get('day') || localDay(new Date());
  if ([...$('#span').options].some((o) => o.value === q.get('span'))) {
    $('#span').value = q.get('span');
    state.span = Number(q.get('span'));
  }
  day.value = state.day;
  $('#loginform').addEventListener('submit', (ev) => logIn(ev).catch(showError));
  $('#logout').addEventListener('click', () => logOut().catch(showError));
  getJSON('/api/session')
    .then((me) => {
      $('#banner').hidden = me.auth !== 'off';
      if (me.auth !== 'off' && !me.user) { showLogin(me.users_exist !== false); return; }
      if (me.user) { $('#user').textContent = me.user; $('#who').hidden = me.via !== 'session'; }
      $('#camera').hidden = false;
      document.body.dataset.view = 'cameras';
      start(q);
    })
    .catch(showError);
}

function start(q) {
  loadCameras()
    .then(async (names) => {
      if (!names.length) throw new Error('no cameras configured and no recordings yet');
      await select(names.includes(q.get('camera')) ? q.get('camera') : names[0]);
      if (q.get('t')) play(Number(q.get('t')));
      else if (state.segments.length) setExport(state.segments[0].t0, state.segments[0].t0 + 600);
      document.body.dataset.ready = 'true';
    })
    .catch(showError);
  setInterval(() => { if (state.camera) refreshStatus().catch(() => {}); }, 5000);
}

init();
