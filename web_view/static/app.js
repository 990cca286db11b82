// The plant's web view: draws the line, KPIs, trends, alarms, the optimizer's runs and the
// controls from the server's JSON (/api/layout once, /api/stream for the state). No library.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);
let layout = null, state = null, me = { user: null }, selected = null, trendTimer = null;

function el(tag, attrs, text) {
  const e = tag.startsWith("svg:") ? document.createElementNS(SVG, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}
function value(key) { const v = state && state.values[key]; return v ? v[0] : undefined; }
function qualityOf(key) { const v = state && state.values[key]; return v ? v[1] : "missing"; }
function fmt(v) {
  if (v === undefined || v === null) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  return String(v);
}
function cookie(name) {
  const m = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return m ? decodeURIComponent(m.slice(name.length + 1)) : "";
}
function say(text, ok) { const m = $("message"); m.textContent = text; m.className = ok ? "ok" : "error"; }
function stateName(key) {
  const v = value(key);
  return typeof v === "number" && layout.machine_states[v] ? layout.machine_states[v] : "unknown";
}

// --- the line ----------------------------------------------------------------------------
function drawLine() {
  const svg = $("line"), n = layout.stations.length, w = 180, gap = 70;
  svg.setAttribute("viewBox", `0 0 ${n * (w + gap) + 120} 190`);
  svg.replaceChildren();
  layout.stations.forEach((st, i) => {
    const x = 10 + i * (w + gap);
    svg.append(el("svg:rect", { x, y: 10, width: w, height: 140, rx: 6, fill: "#f0f2f6", stroke: "#d6dae2" }));
    svg.append(el("svg:text", { x: x + 8, y: 28, "font-weight": "bold" }, st.name));
    svg.append(el("svg:text", { x: x + 8, y: 145, id: `queue-${st.name}`, "font-size": 12 }, "queue –"));
    const mh = Math.min(34, 90 / st.machines.length - 4);
    st.machines.forEach((m, j) => {
      const r = el("svg:rect", { x: x + 10, y: 38 + j * (mh + 4), width: w - 20, height: mh, rx: 4,
        class: "machine st-unknown", "data-machine": m.name, "data-state": "unknown" });
      r.addEventListener("click", () => selectMachine(m));
      const t = el("svg:text", { x: x + 16, y: 38 + j * (mh + 4) + mh / 2 + 4, "font-size": 12, "pointer-events": "none",
        id: `mlabel-${m.name}` }, m.name);
      svg.append(r, t);
    });
    const bx = x + w + 8;
    svg.append(el("svg:path", { d: `M${x + w} 80 L${x + w + gap} 80`, stroke: "#8a93a6", "marker-end": "", fill: "none" }));
    svg.append(el("svg:text", { x: bx, y: 70, "font-size": 11, id: `buffer-${st.name}` }, ""));
  });
  $("legend").replaceChildren(...layout.machine_states.map((s) => {
    const span = el("span"), box = el("svg:svg", { width: 12, height: 12 });
    box.append(el("svg:rect", { width: 12, height: 12, class: `st-${s}` }));
    span.append(box, " " + s); return span;
  }));
}

function updateLine() {
  for (const st of layout.stations) {
    for (const m of st.machines) {
      const r = document.querySelector(`rect[data-machine="${CSS.escape(m.name)}"]`);
      const s = stateName(m.tags.State);
      r.setAttribute("class", `machine st-${s}${selected === m.name ? " selected" : ""}`);
      r.setAttribute("data-state", s);
      $(`mlabel-${m.name}`).textContent = `${m.name}: ${s}`;
    }
    $(`queue-${st.name}`).textContent = `queue ${fmt(value(st.queue))}`;
    $(`buffer-${st.name}`).textContent = layout.products.map((p) => `${p}:${fmt(value(st.buffer[p]))}`).join(" ");
  }
  const stock = $("stock");
  const cards = Object.entries(state.values).filter(([k]) => k.startsWith(layout.control + "/"))
    .map(([k, v]) => `${k.slice(layout.control.length + 1)}=${fmt(v[0])}`);
  stock.replaceChildren(
    el("span", { id: "finished" }, "finished goods " + layout.products.map((p) => `${p} ${fmt(value(layout.finished[p]))}`).join(", ")),
    el("span", { id: "backlog" }, "backlog " + layout.products.map((p) => `${p} ${fmt(value(layout.backlog[p]))}`).join(", ")),
    el("span", { id: "cards" }, "cards " + (cards.join(" ") || "–")));
}

// --- KPIs, alarms, events, faults, recommendations ---------------------------------------
function updateTables() {
  const rows = Object.entries(state.values).filter(([k]) => k.startsWith(layout.kpis + "/"));
  $("kpis").replaceChildren(...rows.map(([k, v]) => {
    const tr = el("tr"); tr.append(el("td", {}, k.slice(layout.kpis.length + 1)), el("td", { class: "num" }, fmt(v[0])));
    return tr;
  }));
  $("alarms").replaceChildren(...(state.alarms.length ? state.alarms.map((a) =>
    el("li", { class: "alarm" }, `${a.source}: ${a.message}${a.acked ? " (acknowledged)" : ""}`)) : [el("li", {}, "none active")]));
  $("events").replaceChildren(...state.events.map((e) =>
    el("li", {}, `${(e.time || "").slice(11, 19)} ${e.source} ${e.kind}: ${e.message}`)));
  const pt = value(layout.plant_time);
  $("clock").textContent = typeof pt === "number" ? `plant hour ${pt.toFixed(2)}` : "";
  $("sim").textContent = value(layout.simulation) ? `simulation ${value(layout.simulation)}` : "";
  const st = $("status");
  st.textContent = state.connected ? "twin connected" : "twin not connected";
  st.className = "pill " + (state.connected ? "ok" : "bad");
  drawRecs(); drawFaults();
  if (selected) updateDetail();
}

function parsed(key) { try { return JSON.parse(value(key) || "[]"); } catch { return []; } }

function drawRecs() {
  const recs = parsed(layout.recommendations);
  $("recs").replaceChildren(...(recs.length ? recs.map((r) => {
    const li = el("li", { "data-rec": r.id });
    const changes = Object.entries(r.changes).map(([k, v]) => `${k} → ${v}`).join(", ");
    li.append(`#${r.id} by ${r.by}: ${changes}. ${r.summary} `);
    if (me.user) {
      const a = el("button", { type: "button", class: "apply" }, "Apply");
      a.addEventListener("click", () => act("apply", { id: r.id }));
      const d = el("button", { type: "button", class: "dismiss" }, "Dismiss");
      d.addEventListener("click", () => act("dismiss", { id: r.id }));
      li.append(a, " ", d);
    }
    return li;
  }) : [el("li", {}, "none open")]));
}

function drawFaults() {
  const faults = parsed(layout.faults);
  $("faults").replaceChildren(...(faults.length ? faults.map((f) => {
    const li = el("li", { "data-fault": f.id }, `#${f.id} ${f.kind} ${f.target || ""} until hour ${fmt(f.end_h)} (by ${f.by}) `);
    if (me.user) {
      const b = el("button", { type: "button" }, "Clear"); b.addEventListener("click", () => act("clear_fault", { id: f.id }));
      li.append(b);
    }
    return li;
  }) : [el("li", {}, "none")]));
}

// --- charts ------------------------------------------------------------------------------
function drawSeries(svg, points, opts) {
  const W = 600, H = opts.height || 180, P = 34;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  const good = points.filter((p) => p[1] !== null && (p[2] & 0xC0000000) === 0);
  svg.setAttribute("data-points", String(points.length));
  if (!good.length) { svg.append(el("svg:text", { x: 10, y: 20 }, "no samples yet")); return; }
  const t0 = points[0][0], t1 = Math.max(points[points.length - 1][0], t0 + 1e-3);
  let lo = Math.min(...good.map((p) => p[1])), hi = Math.max(...good.map((p) => p[1]));
  if (hi === lo) { hi += 1; lo -= 1; }
  const X = (t) => P + (t - t0) / (t1 - t0) * (W - P - 6), Y = (v) => H - 16 - (v - lo) / (hi - lo) * (H - 26);
  let d = "";
  good.forEach((p, i) => { d += (i ? ` H${X(p[0]).toFixed(1)} V${Y(p[1]).toFixed(1)}` : `M${X(p[0]).toFixed(1)} ${Y(p[1]).toFixed(1)}`); });
  d += ` H${X(t1).toFixed(1)}`;
  svg.append(el("svg:path", { d, fill: "none", stroke: "#2e6fd8", "stroke-width": 1.5, class: "series" }));
  for (const p of points) if (p[2] & 0x80000000) svg.append(el("svg:line", { x1: X(p[0]), x2: X(p[0]), y1: 4, y2: H - 16, stroke: "#c0392b", "stroke-opacity": 0.5 }));
  svg.append(el("svg:text", { x: 2, y: 12, "font-size": 10 }, fmt(hi)), el("svg:text", { x: 2, y: H - 18, "font-size": 10 }, fmt(lo)));
  svg.append(el("svg:text", { x: P, y: H - 3, "font-size": 10 }, new Date(t0 * 1000).toISOString().slice(11, 19)),
    el("svg:text", { x: W - 60, y: H - 3, "font-size": 10 }, new Date(t1 * 1000).toISOString().slice(11, 19)));
  if (opts.unit) svg.append(el("svg:text", { x: W - 80, y: 12, "font-size": 10 }, opts.unit));
}

function drawTimeline(svg, points) {
  const W = 600, H = 40;
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.replaceChildren();
  svg.setAttribute("data-points", String(points.length));
  if (!points.length) return;
  const t0 = points[0][0], t1 = Math.max(points[points.length - 1][0], t0 + 1e-3);
  points.forEach((p, i) => {
    const end = i + 1 < points.length ? points[i + 1][0] : t1;
    const x = (p[0] - t0) / (t1 - t0) * W, w = Math.max((end - p[0]) / (t1 - t0) * W, 1);
    const s = typeof p[1] === "number" ? layout.machine_states[p[1]] || "unknown" : "unknown";
    svg.append(el("svg:rect", { x, y: 4, width: w, height: 24, class: `st-${s}` }));
  });
}

async function history(tag, since) {
  const r = await fetch(`/api/history?tag=${encodeURIComponent(tag)}&since=${since}`);
  const doc = await r.json();
  if (!r.ok) throw new Error(doc.error);
  return doc.points;
}

async function refreshTrend() {
  const tag = $("trend-tag").value;
  if (!tag) return;
  try {
    const pts = await history(tag, $("trend-since").value);
    drawSeries($("trend"), pts, {});
    $("trend-note").textContent = `${pts.length} samples of ${tag}; red lines: bad quality`;
  } catch (e) { $("trend-note").textContent = String(e.message); }
}

function fillTrendPicker() {
  const sel = $("trend-tag"), current = sel.value;
  const keys = Object.keys(state.values).filter((k) => typeof state.values[k][0] === "number").sort();
  const first = layout.trend_kpis.filter((k) => keys.includes(k));
  const all = [...first, ...keys.filter((k) => !first.includes(k))];
  if (sel.options.length === all.length) return;
  sel.replaceChildren(...all.map((k) => el("option", { value: k }, k)));
  sel.value = current && all.includes(current) ? current : all[0] || "";
  const q = $("quality-tag"), qv = q.value;
  const measurements = keys.filter((k) => !k.startsWith(layout.control + "/") && !k.startsWith(layout.kpis + "/"));
  q.replaceChildren(...measurements.map((k) => el("option", { value: k }, k)));
  if (qv) q.value = qv;
}

// --- machine detail ----------------------------------------------------------------------
function selectMachine(m) { selected = m.name; $("detail-name").textContent = m.name; $("fault-machine").value = m.name; updateLine(); updateDetail(); refreshDetailCharts(); }
function machineOf(name) { for (const st of layout.stations) for (const m of st.machines) if (m.name === name) return m; return null; }
function updateDetail() {
  const m = machineOf(selected); if (!m) return;
  const rows = Object.entries(m.tags).filter(([, k]) => state.values[k]);
  $("detail").replaceChildren(...rows.map(([name, k]) => {
    const tr = el("tr"); const v = name === "State" ? stateName(k) : fmt(value(k));
    tr.append(el("td", {}, name), el("td", { class: `num q-${qualityOf(k)}` }, v + (qualityOf(k) !== "good" ? ` (${qualityOf(k)})` : "")));
    return tr;
  }));
}
async function refreshDetailCharts() {
  const m = machineOf(selected); if (!m) return;
  try { drawTimeline($("timeline"), await history(m.tags.State, $("trend-since").value)); } catch { /* no history yet */ }
  try { drawSeries($("power"), await history(m.tags.PowerKW, $("trend-since").value), { height: 90, unit: "kW" }); } catch { /* none */ }
}

// --- optimizer runs ----------------------------------------------------------------------
function interval(s) { return s && s.mean !== undefined ? `${fmt(s.mean)} ± ${fmt(s.half_width)}` : "–"; }
async function refreshRuns() {
  const r = await fetch("/api/runs"); if (!r.ok) return;
  const runs = (await r.json()).runs;
  const head = el("tr"); for (const h of ["time", "job", "outcome", "changed", "verified gain (95 %)", "p-value", "why"]) head.append(el("th", {}, h));
  $("runs").replaceChildren(head, ...runs.map((e) => {
    const tr = el("tr", { class: "run" });
    const changed = Object.entries(e.written || e.recommended || {}).map(([k, v]) => `${k}=${v}`).join(", ");
    tr.append(el("td", {}, (e.time || "").replace("T", " ").slice(0, 19)), el("td", {}, e.job || ""), el("td", {}, e.outcome || ""),
      el("td", {}, changed || "–"), el("td", { class: "num" }, interval(e.improvement)),
      el("td", { class: "num" }, e.p_value === null || e.p_value === undefined ? "–" : Number(e.p_value).toExponential(2)),
      el("td", {}, (e.reasons || []).join("; ")));
    return tr;
  }));
}

// --- logging in and acting ---------------------------------------------------------------
async function post(url, body, csrf) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body), credentials: "same-origin" });
  let doc = {}; try { doc = await r.json(); } catch { /* empty */ }
  return { ok: r.ok, status: r.status, doc };
}
function showUser() {
  $("login").hidden = !!me.user; $("who").hidden = !me.user;
  $("who-name").textContent = me.user ? `${me.user} (${me.role})` : "";
  document.body.dataset.role = me.role || "";
  if (state) { drawRecs(); drawFaults(); }
}
async function login(ev) {
  ev.preventDefault();
  const r = await post("/api/login", { user: $("user").value, password: $("password").value }, cookie("plant_csrf"));
  $("password").value = "";
  if (!r.ok) { say(r.doc.error || `login refused (${r.status})`, false); return; }
  me = r.doc; showUser(); say(`logged in as ${me.user} (${me.role})`, true);
}
async function logout() { await post("/api/logout", {}, me.csrf || ""); me = { user: null }; showUser(); say("logged out", true); }
async function act(action, args) {
  if (!me.user) { say("log in first", false); return; }
  const r = await post("/api/action", { action, args }, me.csrf);
  if (r.ok) say(`${action}: ${r.doc.result}`, true);
  else say(`${action} refused: ${r.doc.status || r.status} ${r.doc.error || ""}`, false);
  if (r.status === 401) { me = { user: null }; showUser(); }
}

// --- start -------------------------------------------------------------------------------
function onState(doc) {
  state = doc; updateLine(); updateTables(); fillTrendPicker();
}
async function start() {
  layout = await (await fetch("/api/layout")).json();
  $("title").textContent = `plant-twin: ${layout.line}`;
  drawLine();
  const ms = layout.stations.flatMap((s) => s.machines.map((m) => m.name));
  $("fault-machine").replaceChildren(...ms.map((n) => el("option", { value: n }, n)));
  me = await (await fetch("/api/me")).json(); showUser();
  $("login").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("break").addEventListener("click", () => act("break_machine", { machine: $("fault-machine").value, duration_h: Number($("fault-hours").value) }));
  $("set-quality").addEventListener("click", () => act("set_quality", { tag: $("quality-tag").value, quality: $("quality").value, duration_h: Number($("fault-hours").value) }));
  $("pause").addEventListener("click", () => act("pause", {}));
  $("resume").addEventListener("click", () => act("resume", {}));
  $("step").addEventListener("click", () => act("step_to", { hour: Number($("step-hour").value) }));
  $("trend-tag").addEventListener("change", refreshTrend);
  $("trend-since").addEventListener("change", refreshTrend);
  const stream = new EventSource("/api/stream");
  stream.onmessage = (m) => onState(JSON.parse(m.data));
  stream.onerror = () => { $("status").textContent = "reconnecting…"; $("status").className = "pill bad"; };
  refreshRuns();
  setInterval(() => { refreshTrend(); if (selected) refreshDetailCharts(); }, 2000);
  setInterval(refreshRuns, 5000);
  setTimeout(refreshTrend, 600);
}
document.addEventListener("DOMContentLoaded", start);
