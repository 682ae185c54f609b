// The technician page: everything comes from the agent's own API on this origin. A status snapshot
// arrives every second over server-sent events (read with fetch, so the bearer token can be sent),
// windows as they close, and, only when the agent has preview.enabled, annotated preview frames.
const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const COLOURS = {
  angry: '#d64545',
  disgust: '#7a9a2b',
  fear: '#8e5cc4',
  happy: '#f2b630',
  sad: '#3f7cc4',
  surprise: '#e07b39',
  neutral: '#9aa1ad',
  withheld: '#d9dde4',
};
const HOUR = 3600_000;
const $ = (id) => document.getElementById(id);

let token = sessionStorage.getItem('emotion-agent-token') || '';
const windows = [];
let previewOn = false;

function headers() {
  return token ? { authorization: `Bearer ${token}` } : {};
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

function rows(table, pairs) {
  table.replaceChildren(...pairs.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', {}, String(v)))));
}

const fmtAge = (ms) => (ms === null ? 'never' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const fmtBytes = (b) => (b >= 1e9 ? `${(b / 1e9).toFixed(1)} GB` : `${(b / 1e6).toFixed(0)} MB`);
const fmtMs = (v) => (v === null ? '–' : `${v.toFixed(1)} ms`);

function legendItem(text, colour) {
  const s = el('span', {}, text);
  s.style.setProperty('--c', colour); // CSSOM, not a style attribute: the CSP allows no inline styles
  return s;
}

function showLogin(message) {
  $('main').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('token').value.trim();
  sessionStorage.setItem('emotion-agent-token', token);
  void start();
});

function renderStatus(s) {
  $('device').textContent = s.deviceId;
  const badge = $('ready');
  badge.textContent = s.ready ? 'ready' : 'not ready';
  badge.className = `badge ${s.ready ? 'ok' : 'bad'}`;
  $('meta').textContent =
    `v${s.version} · up ${Math.floor(s.uptimeS / 60)} min · updated ${new Date(s.generatedAt).toLocaleTimeString()}`;
  $('reasons').replaceChildren(...s.reasons.map((r) => el('li', {}, r)));
  for (const c of s.cameras) renderCamera(c, s.preview);
  rows(
    $('models'),
    s.models.flatMap((m) => {
      const u = s.modelUpdates?.[m.task];
      const update = u
        ? `${u.state}${u.progress !== null ? ` ${Math.round(u.progress * 100)} %` : ''}${u.target ? ` (${u.target})` : ''}${u.error ? `: ${u.error}` : ''}`
        : 'off';
      return [
        [m.task, m.version],
        [`${m.task} p50 / p95`, `${fmtMs(m.p50Ms)} / ${fmtMs(m.p95Ms)}`],
        [`${m.task} update`, update],
      ];
    }),
  );
  rows(
    $('mqtt'),
    s.mqtt.enabled
      ? [
          ['connected', s.mqtt.connected ? 'yes' : 'no'],
          ['outbox pending', s.mqtt.outboxPending],
          ['published', s.mqtt.published],
          ['dropped', s.mqtt.dropped],
          ...(s.mqtt.lastError ? [['last error', s.mqtt.lastError]] : []),
        ]
      : [['MQTT', 'off']],
  );
  const h = s.host;
  rows($('host'), [
    ['load (1 min, per CPU)', h.load1PerCpu.toFixed(2)],
    ['memory available', `${fmtBytes(h.memAvailableBytes)} of ${fmtBytes(h.memTotalBytes)}`],
    ['CPU temperature', h.temperatureC === null ? 'not reported' : `${h.temperatureC.toFixed(0)} °C`],
    ['state disk free', h.disk ? `${fmtBytes(h.disk.freeBytes)} of ${fmtBytes(h.disk.totalBytes)}` : 'unknown'],
    ['GPU', h.gpu ? `${h.gpu.name} ${h.gpu.utilizationPct ?? '?'} %` : 'none'],
  ]);
  $('privacy').textContent = s.preview
    ? 'Live preview is on (preview.enabled): frames are shown here only, never stored or published.'
    : 'No image leaves the analysis: only counts are shown and published.';
}

function renderCamera(c, preview) {
  let card = document.querySelector(`[data-camera="${CSS.escape(c.id)}"]`);
  if (!card) {
    card = el('div', { class: 'card', 'data-camera': c.id, 'data-testid': 'camera' });
    card.append(
      el('h3', {}, el('span', { class: 'name' }), el('span', { class: 'state' })),
      el('div', {}, el('span', { class: 'big people', 'data-testid': 'people' }), ' people in this window'),
      el(
        'div',
        { class: 'attention' },
        el('span', { class: 'big viewers', 'data-testid': 'viewers' }),
        ' viewers in the last window ',
        el('span', { class: 'muted audience', 'data-testid': 'audience' }),
      ),
      el('table', { class: 'figures' }),
    );
    if (preview) card.append(el('div', { class: 'preview' }, el('canvas', { 'data-testid': 'preview' })));
    $('cameras').append(card);
  }
  card.querySelector('.name').textContent = c.id;
  const st = card.querySelector('.state');
  st.textContent = c.state;
  st.className = `state state-${c.state}`;
  card.querySelector('.people').textContent = String(c.peopleInWindow);
  // Audience of the last closed window: viewers looked at the kiosk for at least attention.minLookS.
  const a = c.lastWindow;
  card.querySelector('.viewers').textContent = a ? String(a.viewers) : '–';
  card.querySelector('.audience').textContent = a
    ? `(of ${a.people} people; ${a.passersBy} passers-by${a.lookTime ? `, looked ${a.lookTime.meanS} s on average` : ''}${a.notClassified ? `, ${a.notClassified} not classified` : ''})`
    : '(no window closed yet)';
  rows(card.querySelector('.figures'), [
    ['fps in / analysed', `${c.fpsIn.toFixed(1)} / ${c.fpsAnalysed.toFixed(1)}`],
    ['faces per second', c.facesPerS.toFixed(2)],
    ['frames analysed', c.framesAnalysed],
    ['dropped / reconnects', `${c.dropped} / ${c.reconnects}`],
    ['last frame', fmtAge(c.lastFrameAgeMs)],
    ['resolution', c.width ? `${c.width}×${c.height}` : '–'],
    ...(c.reason ? [['why', c.reason]] : []),
  ]);
}

function renderPreview(p) {
  const canvas = document.querySelector(`[data-camera="${CSS.escape(p.cameraId)}"] canvas`);
  if (!canvas) return;
  const img = new Image();
  img.onload = () => {
    canvas.width = p.width;
    canvas.height = p.height;
    const g = canvas.getContext('2d');
    g.drawImage(img, 0, 0);
    g.lineWidth = 2;
    g.font = '13px system-ui, sans-serif';
    for (const f of p.faces) {
      g.strokeStyle = COLOURS[f.label] || '#fff';
      g.strokeRect(f.box.x, f.box.y, f.box.width, f.box.height);
      const text = `${f.label} ${(f.score * 100).toFixed(0)}%`;
      g.fillStyle = g.strokeStyle;
      g.fillRect(f.box.x, Math.max(0, f.box.y - 16), g.measureText(text).width + 6, 16);
      g.fillStyle = '#000';
      g.fillText(text, f.box.x + 3, Math.max(12, f.box.y - 4));
    }
  };
  img.src = p.image;
}

const AUDIENCE = ['viewers', 'passersBy'];
const AUDIENCE_COLOURS = { viewers: '#2f6fd6', passersBy: '#c9d3e3' };

/** Both charts: windows of the last hour, all cameras summed per window end. */
function renderCharts() {
  const now = Date.now();
  while (windows.length && windows[0].endMs < now - HOUR) windows.shift();
  const moods = new Map();
  const audience = new Map();
  for (const w of windows) {
    const b = moods.get(w.endMs) || { withheld: 0, ...Object.fromEntries(LABELS.map((l) => [l, 0])) };
    if (w.emotions) for (const l of LABELS) b[l] += w.emotions[l] || 0;
    else b.withheld += w.people;
    moods.set(w.endMs, b);
    // Windows from agents older than the audience metrics have no viewers field: they count as passers-by.
    const a = audience.get(w.endMs) || { viewers: 0, passersBy: 0, lookS: [] };
    a.viewers += w.viewers || 0;
    a.passersBy += w.passersBy ?? w.people - (w.viewers || 0);
    if (w.lookTime) a.lookS.push(`${w.cameraId}: ${w.lookTime.meanS} s`);
    audience.set(w.endMs, a);
  }
  drawBars('chart', now, moods, [...LABELS, 'withheld'], COLOURS, () => '');
  drawBars('attention-chart', now, audience, AUDIENCE, AUDIENCE_COLOURS, (b) =>
    b.lookS.length ? ` (mean look ${b.lookS.join(', ')})` : '',
  );
  $('chart').dataset.windows = String(windows.length);
  $('attention-chart').dataset.windows = String(windows.length);
}

/** Stacked bars, one per window end, over the last hour; each segment's tooltip gives its count. */
function drawBars(id, now, byEnd, keys, colours, note) {
  const W = 1000,
    H = 200,
    pad = 24;
  const max = Math.max(1, ...[...byEnd.values()].map((b) => keys.reduce((a, k) => a + b[k], 0)));
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H + pad}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  const barW = Math.max(2, (W / 60) * 0.8);
  for (const [end, b] of byEnd) {
    const x = ((end - (now - HOUR)) / HOUR) * W - barW;
    let y = H;
    for (const key of keys) {
      const h = (b[key] / max) * (H - 10);
      if (h <= 0) continue;
      y -= h;
      const r = document.createElementNS(ns, 'rect');
      for (const [k, v] of Object.entries({ x, y, width: barW, height: h, fill: colours[key], 'data-key': key }))
        r.setAttribute(k, String(v));
      const t = document.createElementNS(ns, 'title');
      t.textContent = `${new Date(end).toLocaleTimeString()}: ${key} ${b[key]}${note(b)}`;
      r.append(t);
      svg.append(r);
    }
  }
  for (const [i, label] of [
    [0, '−60 min'],
    [0.5, '−30 min'],
    [1, 'now'],
  ]) {
    const t = document.createElementNS(ns, 'text');
    for (const [k, v] of Object.entries({ x: i * W - (i === 1 ? 40 : 0), y: H + 18, 'font-size': 14, fill: '#6b7385' }))
      t.setAttribute(k, String(v));
    t.textContent = label;
    svg.append(t);
  }
  $(id).replaceChildren(svg);
}

async function events() {
  const res = await fetch(`/api/events${previewOn ? '?preview=1' : ''}`, { headers: headers() });
  if (res.status === 401) return showLogin('Wrong or missing token.');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (!event || data === undefined) continue;
      const msg = JSON.parse(data);
      if (event === 'status') renderStatus(msg);
      else if (event === 'window') {
        windows.push(msg);
        renderCharts();
      } else if (event === 'preview') renderPreview(msg);
    }
  }
}

async function start() {
  const res = await fetch('/api/status', { headers: headers() });
  if (res.status === 401) return showLogin(token ? 'Wrong token.' : '');
  const status = await res.json();
  previewOn = status.preview;
  $('login').hidden = true;
  $('main').hidden = false;
  renderStatus(status);
  const hist = await (await fetch('/api/history', { headers: headers() })).json();
  windows.splice(
    0,
    windows.length,
    ...Object.values(hist)
      .flat()
      .sort((a, b) => a.endMs - b.endMs),
  );
  renderCharts();
  setInterval(renderCharts, 30_000);
  // The stream ends when the agent restarts: reconnect after a pause, without reloading the page.
  for (;;) {
    try {
      await events();
    } catch {
      /* agent restarting */
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
}

$('legend').replaceChildren(
  ...[...LABELS, 'withheld'].map((l) =>
    legendItem(l === 'withheld' ? 'withheld (fewer than aggregate.minPeople)' : l, COLOURS[l]),
  ),
);
$('attention-legend').replaceChildren(
  legendItem('viewers (looked at least attention.minLookS)', AUDIENCE_COLOURS.viewers),
  legendItem('passers-by', AUDIENCE_COLOURS.passersBy),
);
void start();
