// llm-eval view: the page. Everything shown comes from /api/ (docs/view.md)
// and is put into the DOM as text (textContent, createTextNode) or as SVG
// elements built one by one: data is never parsed as markup, and no URL is
// ever taken from data.
// Routes are in the fragment: #/ runs, #/run/ID, #/run/ID/samples/TASK?...,
// #/run/ID/sample/TASK/LINE?..., #/run/ID/doc/TASK/DOC?filter=F,
// #/compare/A/B, #/live.
"use strict";

const main = document.getElementById("main");
const statusLine = document.getElementById("status");
let liveTimer = null;
let keyHandler = null;
let generation = 0;

// el("td", {class: "num"}, "text", child, ...): children that are strings
// become text nodes; attributes are set with setAttribute, and only the
// page's own values are ever given to href.
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "onclick" || k === "onchange" || k === "oninput" || k === "onkeydown") e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) add(e, c);
  return e;
}
function add(e, c) {
  if (c === null || c === undefined || c === false) return;
  if (Array.isArray(c)) { for (const x of c) add(e, x); return; }
  e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
}
const SVG = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = String(text);
  return e;
}
function link(route, text) { return el("a", { href: "#" + route }, text); }
function enc(s) { return encodeURIComponent(String(s)); }

function fmt(v, digits) {
  if (v === null || v === undefined) return "-";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(3);
  return v.toFixed(digits === undefined ? 4 : digits);
}
function pm(v, se) { return se === null || se === undefined ? fmt(v) : fmt(v) + " ± " + fmt(se); }
function dur(s) {
  if (s === null || s === undefined) return "-";
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
  return h ? h + "h" + String(m).padStart(2, "0") + "m" : m ? m + "m" + String(r).padStart(2, "0") + "s" : r + "s";
}
function show(text) {
  if (typeof text === "string") return text;
  return JSON.stringify(text, null, 2);
}

async function api(path) {
  const r = await fetch("/api/" + path, { headers: { Accept: "application/json" } });
  const j = await r.json();
  if (!r.ok) throw new Error(j && j.error ? j.error : r.status + " " + r.statusText);
  return j;
}

function setPage(title, ...nodes) {
  main.replaceChildren(el("h1", {}, title), ...nodes);
  document.title = title + " · llm-eval view";
}
function fail(e) {
  main.replaceChildren(el("h1", {}, "Error"), el("p", { class: "error", id: "error" }, e.message));
}

function parseHash() {
  const h = location.hash.replace(/^#/, "") || "/";
  const qi = h.indexOf("?");
  const path = (qi >= 0 ? h.slice(0, qi) : h).split("/").filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(qi >= 0 ? h.slice(qi + 1) : "");
  return { path, params };
}

async function route() {
  const my = ++generation;
  if (liveTimer) { clearInterval(liveTimer); liveTimer = null; }
  keyHandler = null;
  const { path, params } = parseHash();
  for (const a of document.querySelectorAll("nav a")) a.classList.remove("active");
  try {
    if (path.length === 0) { document.getElementById("nav-runs").classList.add("active"); await pageRuns(my); }
    else if (path[0] === "run" && path.length === 2) await pageRun(path[1]);
    else if (path[0] === "run" && path[2] === "samples" && path.length === 4) await pageSamples(path[1], path[3], params);
    else if (path[0] === "run" && path[2] === "sample" && path.length === 5) await pageSample(path[1], path[3], path[4], params);
    else if (path[0] === "run" && path[2] === "doc" && path.length === 5) await pageDoc(path[1], path[3], path[4], params);
    else if (path[0] === "compare") { document.getElementById("nav-compare").classList.add("active"); await pageCompare(path[1], path[2]); }
    else if (path[0] === "live") { document.getElementById("nav-live").classList.add("active"); await pageLive(my); }
    else setPage("Not found", el("p", {}, "No such page. "), link("/", "All runs"));
  } catch (e) { if (my === generation) fail(e); }
}

// --- runs ---------------------------------------------------------------

async function pageRuns(my) {
  const [runs, report] = await Promise.all([api("runs"), api("report")]);
  if (my !== generation) return;
  const search = el("input", { type: "search", id: "run-search", placeholder: "search model, task, date, id", size: 40 });
  const chosen = [];
  const cmpBtn = el("button", { id: "compare-chosen", disabled: true }, "Compare the two chosen runs");
  cmpBtn.addEventListener("click", () => { location.hash = "#/compare/" + enc(chosen[0]) + "/" + enc(chosen[1]); });
  const tbody = el("tbody", { id: "runs-body" });
  for (const r of runs.runs) {
    const box = el("input", { type: "checkbox", "aria-label": "choose run " + r.id });
    box.addEventListener("change", () => {
      if (box.checked) { chosen.push(r.id); if (chosen.length > 2) chosen.shift(); }
      else chosen.splice(chosen.indexOf(r.id), 1);
      for (const b of tbody.querySelectorAll("input[type=checkbox]")) b.checked = chosen.includes(Number(b.dataset.id));
      cmpBtn.disabled = chosen.length !== 2;
    });
    box.dataset.id = r.id;
    const tr = el("tr", { class: "run-row" },
      el("td", {}, box),
      el("td", { class: "num" }, link("/run/" + r.id, "#" + r.id)),
      el("td", {}, r.date || "-"),
      el("td", {}, link("/run/" + r.id, r.model || "?")),
      el("td", { class: "cell-text" }, r.tasks.join(", ")),
      el("td", { class: "num" }, dur(r.total_seconds)),
      el("td", {}, r.shard ? "shard " + r.shard : r.status),
      el("td", { class: "num" }, String(r.n_results)),
      el("td", { class: "num" }, r.n_scores ? String(r.n_scores) : "-"));
    tr.dataset.text = [r.id, r.uid, r.date, r.model, r.source, r.tasks.join(" "), r.shard].join(" ").toLowerCase();
    tbody.appendChild(tr);
  }
  search.addEventListener("input", () => {
    const q = search.value.toLowerCase().trim();
    for (const tr of tbody.children) tr.hidden = q !== "" && !tr.dataset.text.includes(q);
  });
  const table = el("table", { id: "runs" },
    el("thead", {}, el("tr", {}, el("th", {}, ""), el("th", { class: "num" }, "run"), el("th", {}, "date"),
      el("th", {}, "model"), el("th", {}, "tasks"), el("th", { class: "num" }, "duration"), el("th", {}, "status"),
      el("th", { class: "num" }, "results"), el("th", { class: "num" }, "doc scores"))),
    tbody);
  setPage("Runs", el("div", { class: "controls" }, search, cmpBtn,
    el("span", { class: "muted" }, runs.runs.length + " stored runs")),
    runs.runs.length ? table : el("p", {}, "No stored runs yet: `llm-eval run` stores each run, `llm-eval results import` adds others."),
    el("h2", {}, "Scores by task"), charts(report));
}

// One bar chart per task (and per category average): a bar per model with
// an error bar of one standard error and the value written beside it.
function charts(report) {
  const box = el("div", { class: "charts", id: "charts" });
  const models = report.models || [];
  const one = (title, get) => {
    const vals = models.map((m) => ({ name: m.model, s: get(m) })).filter((x) => x.s && x.s.value !== null);
    if (!vals.length) return;
    const rowH = 22, labelW = 170, barW = 220, valW = 120, W = labelW + barW + valW;
    const H = vals.length * rowH + 8;
    let max = 0;
    for (const v of vals) max = Math.max(max, v.s.value + (v.s.stderr || 0));
    if (!(max > 0)) max = 1;
    const g = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img" });
    g.appendChild(svg("title", {}, title));
    g.appendChild(svg("line", { class: "axis", x1: labelW, y1: 2, x2: labelW, y2: H - 2 }));
    vals.forEach((v, i) => {
      const y = 4 + i * rowH, w = Math.max(0, v.s.value / max * barW);
      const name = v.name.length > 26 ? v.name.slice(0, 25) + "…" : v.name;
      g.appendChild(svg("text", { x: labelW - 6, y: y + 14, "text-anchor": "end" }, name));
      g.appendChild(svg("rect", { class: "bar", x: labelW, y: y + 3, width: w, height: rowH - 8 }));
      if (v.s.stderr) {
        const x1 = labelW + Math.max(0, v.s.value - v.s.stderr) / max * barW, x2 = labelW + (v.s.value + v.s.stderr) / max * barW;
        g.appendChild(svg("line", { class: "err", x1, x2, y1: y + rowH / 2 - 1, y2: y + rowH / 2 - 1 }));
      }
      g.appendChild(svg("text", { x: labelW + barW + 6, y: y + 14 }, pm(v.s.value, v.s.stderr)));
    });
    box.appendChild(el("div", { class: "chart" }, el("h3", {}, title), g));
  };
  for (const t of report.tasks || []) one(t.task + " · " + t.metric + (t.filter && t.filter !== "none" ? "," + t.filter : ""), (m) => m.scores[t.task]);
  for (const c of report.categories || []) one("category " + c, (m) => m.categories[c]);
  if (!box.children.length) box.appendChild(el("p", { class: "muted" }, "No scores to chart."));
  return box;
}

// --- one run ------------------------------------------------------------

const runCache = new Map();
async function getRun(id) {
  if (!runCache.has(id)) runCache.set(id, await api("runs/" + enc(id)));
  return runCache.get(id);
}

function meta(pairs) {
  const dl = el("dl", { class: "meta" });
  for (const [k, v] of pairs) if (v !== null && v !== undefined && v !== "") dl.append(el("dt", {}, k), el("dd", {}, v));
  return dl;
}

async function pageRun(id) {
  runCache.delete(id);
  const r = await getRun(id);
  const cfg = r.config || {};
  const nshot = cfg["n-shot"] || {};
  const withSamples = new Set(r.samples || []);
  const tbody = el("tbody", { id: "results-body" });
  for (const x of r.results) {
    const cls = x.is_group ? "group" : x.group ? "member" : "";
    tbody.appendChild(el("tr", { class: cls },
      el("td", { class: "task" }, withSamples.has(x.task) ? link("/run/" + r.id + "/samples/" + enc(x.task), x.task) : x.task),
      el("td", {}, x.metric), el("td", {}, x.filter),
      el("td", { class: "num" }, pm(x.value, x.stderr)),
      el("td", {}, x.higher_is_better === null ? "" : x.higher_is_better ? "↑" : "↓"),
      el("td", { class: "num" }, fmt(x.n)),
      el("td", { class: "num" }, x.n_shot !== null ? String(x.n_shot) : nshot[x.task] !== undefined ? String(nshot[x.task]) : "-"),
      el("td", {}, x.category || "")));
  }
  const configs = el("div", { id: "configs" });
  for (const [task, c] of Object.entries(cfg.configs || {}))
    configs.appendChild(el("details", {}, el("summary", {}, task), el("pre", {}, show(c))));
  const mon = r.monitor;
  const monNode = mon ? el("div", { id: "monitor" }, meta(Object.entries(mon).filter(([, v]) => typeof v !== "object").map(([k, v]) => [k, fmt(v, 2)])),
    el("details", {}, el("summary", {}, "everything the monitor recorded"), el("pre", {}, show(mon))))
    : el("p", { class: "muted", id: "monitor" }, "No monitor summary in this run's results file.");
  setPage("Run #" + r.id + " · " + (r.model || "?"),
    meta([["model", r.model], ["model args", r.model_args], ["date", r.date], ["source", r.source],
      ["duration", dur(r.total_seconds)], ["status", r.shard ? "shard " + r.shard : r.status], ["uid", r.uid], ["results file", r.file]]),
    el("p", {}, withSamples.size ? "Samples: " : "No samples files beside this run's results file.",
      [...withSamples].map((t, i) => [i ? ", " : "", link("/run/" + r.id + "/samples/" + enc(t), t)])),
    el("h2", {}, "Results"),
    el("table", { id: "results" }, el("thead", {}, el("tr", {}, el("th", {}, "task"), el("th", {}, "metric"),
      el("th", {}, "filter"), el("th", { class: "num" }, "value ± stderr"), el("th", {}, ""), el("th", { class: "num" }, "n"),
      el("th", { class: "num" }, "n-shot"), el("th", {}, "category"))), tbody),
    el("h2", {}, "Monitor"), monNode,
    el("h2", {}, "Configs as run"), configs,
    el("details", {}, el("summary", {}, "run configuration"), el("pre", {}, show(cfg.config || {}))),
    el("h2", {}, "Versions"), el("pre", { id: "versions" }, show(r.versions)),
    el("h2", {}, "Hardware"), el("pre", {}, show(r.hardware)));
}

// --- samples ------------------------------------------------------------

const PAGE = 50;
function sampleQuery(params, extra) {
  const q = new URLSearchParams();
  for (const k of ["result", "filter", "metric", "q"]) if (params.get(k)) q.set(k, params.get(k));
  for (const [k, v] of Object.entries(extra || {})) q.set(k, v);
  return q;
}
function answerText(v) {
  if (v === null || v === undefined) return "-";
  if (Array.isArray(v) && v.length === 1 && typeof v[0] === "string") return v[0];
  return typeof v === "string" ? v : JSON.stringify(v);
}
// For a multiple-choice line: the chosen continuation (highest log-likelihood).
function chosen(s) {
  const r = s.filtered_resps;
  if (!Array.isArray(s.choices) || !Array.isArray(r) || r.length !== s.choices.length) return null;
  let best = 0;
  const ll = r.map((x) => (Array.isArray(x) ? x[0] : x));
  if (ll.some((x) => typeof x !== "number")) return null;
  ll.forEach((x, i) => { if (x > ll[best]) best = i; });
  return s.choices[best].trim() + "  (#" + best + ", ll " + fmt(ll[best], 2) + ")";
}
function targetText(s) {
  if (Array.isArray(s.choices) && typeof s.target === "number" && s.choices[s.target] !== undefined)
    return s.choices[s.target].trim() + "  (#" + s.target + ")";
  return answerText(s.target);
}
function oneLine(t) { return t.replace(/\n/g, " ⏎ "); }
function scoreClass(v) { return v === null || v === undefined ? "" : v > 0 ? "good" : v === 0 ? "bad" : ""; }

async function pageSamples(id, task, params) {
  const offset = Number(params.get("offset") || 0);
  const q = sampleQuery(params, { task, offset, limit: PAGE });
  const [r, page] = await Promise.all([getRun(id), api("runs/" + enc(id) + "/samples?" + q)]);
  const go = (changes) => {
    const p = sampleQuery(params);
    for (const [k, v] of Object.entries(changes)) { if (v === "" || v === null) p.delete(k); else p.set(k, v); }
    location.hash = "#/run/" + enc(id) + "/samples/" + enc(task) + "?" + p;
  };
  const sel = (id_, label, value, options, key) => {
    const s = el("select", { id: id_, "aria-label": label });
    for (const [v, t] of options) s.appendChild(el("option", { value: v, selected: v === value }, t));
    s.addEventListener("change", () => go({ [key]: s.value, offset: "" }));
    return el("label", {}, label + " ", s);
  };
  const search = el("input", { type: "search", id: "sample-search", placeholder: "search text", value: params.get("q") || "" });
  search.addEventListener("keydown", (e) => { if (e.key === "Enter") go({ q: search.value, offset: "" }); });
  const metric = page.metric;
  const tbody = el("tbody", { id: "samples-body" });
  page.samples.forEach((s, i) => {
    const pos = page.offset + i;
    const open = "#/run/" + enc(id) + "/sample/" + enc(task) + "/" + s.line + "?" + sampleQuery(params, { pos });
    const tr = el("tr", { class: "sample-row" },
      el("td", { class: "num" }, el("a", { href: open }, s.doc_id === null ? "line " + s.line : String(s.doc_id))),
      el("td", {}, s.filter),
      el("td", { class: "num" }, Object.entries(s.metrics).map(([k, v], j) => [j ? " " : "", el("span", { class: k === metric ? scoreClass(v) : "" }, k + "=" + fmt(v))])),
      el("td", { class: "cell-text" }, targetText(s)),
      el("td", { class: "cell-text" }, s.error ? el("span", { class: "bad" }, s.error) : chosen(s) || answerText(s.filtered_resps),
        typeof s.response === "string" ? el("div", { class: "muted" }, "from: " + oneLine(s.response)) : ""),
      el("td", { class: "cell-text muted tail" }, "…" + oneLine(s.prompt_tail.slice(-120))));
    tr.dataset.href = open;
    tr.addEventListener("click", (e) => { if (e.target.tagName !== "A") location.hash = open; });
    tbody.appendChild(tr);
  });
  let cur = -1;
  const mark = (i) => {
    const rows = tbody.children;
    if (!rows.length) return;
    cur = Math.max(0, Math.min(rows.length - 1, i));
    for (const x of rows) x.classList.remove("sel");
    rows[cur].classList.add("sel");
    rows[cur].scrollIntoView({ block: "nearest" });
  };
  keyHandler = (e) => {
    if (e.target.tagName === "INPUT" || e.target.tagName === "SELECT") return;
    if (e.key === "j" || e.key === "ArrowDown") { mark(cur + 1); e.preventDefault(); }
    else if (e.key === "k" || e.key === "ArrowUp") { mark(cur - 1); e.preventDefault(); }
    else if (e.key === "Enter" && cur >= 0) location.hash = tbody.children[cur].dataset.href;
    else if (e.key === "n" || e.key === "ArrowRight") { if (page.offset + PAGE < page.matched) go({ offset: page.offset + PAGE }); }
    else if (e.key === "p" || e.key === "ArrowLeft") { if (page.offset > 0) go({ offset: Math.max(0, page.offset - PAGE) }); }
  };
  const prev = el("button", { id: "prev-page", disabled: page.offset === 0 }, "← previous");
  prev.addEventListener("click", () => go({ offset: Math.max(0, page.offset - PAGE) }));
  const next = el("button", { id: "next-page", disabled: page.offset + PAGE >= page.matched }, "next →");
  next.addEventListener("click", () => go({ offset: page.offset + PAGE }));
  const first = page.matched ? page.offset + 1 : 0, last = page.offset + page.samples.length;
  setPage(task + " · run #" + r.id + " · " + (r.model || "?"),
    el("p", {}, link("/run/" + r.id, "← run #" + r.id)),
    el("div", { class: "controls" },
      sel("result-select", "result", params.get("result") || "all", [["all", "all"], ["correct", "correct"], ["incorrect", "incorrect"]], "result"),
      sel("filter-select", "filter", params.get("filter") || "", [["", "every filter"], ...page.filters.map((f) => [f, f])], "filter"),
      sel("metric-select", "scored by", params.get("metric") || metric || "", page.metrics.map((m) => [m, m]), "metric"),
      search,
      el("span", { class: "pager" }, prev, " ", next),
      el("span", { id: "sample-count", class: "muted" }, first + "–" + last + " of " + page.matched + " matching (" + page.total + " lines)")),
    el("p", { class: "muted" }, "Keys: ", el("span", { class: "kbd" }, "j"), "/", el("span", { class: "kbd" }, "k"), " select, ",
      el("span", { class: "kbd" }, "Enter"), " open, ", el("span", { class: "kbd" }, "n"), "/", el("span", { class: "kbd" }, "p"), " page."),
    el("table", { id: "samples" }, el("thead", {}, el("tr", {}, el("th", { class: "num" }, "doc"), el("th", {}, "filter"),
      el("th", { class: "num" }, "metrics"), el("th", {}, "target"), el("th", {}, "answer"), el("th", {}, "prompt (end)"))), tbody));
}

// The prompt with its few-shot part folded: everything before the last
// few-shot delimiter (the task's fewshot_delimiter, "\n\n" by default) when
// the task ran with examples.
function promptNode(prompt, config, nshot) {
  const delim = (config && typeof config.fewshot_delimiter === "string" && config.fewshot_delimiter) || "\n\n";
  const cut = prompt.lastIndexOf(delim);
  if (!(nshot > 0) || cut <= 0)
    return el("pre", { class: "prompt", id: "prompt" }, prompt);
  const shots = prompt.slice(0, cut + delim.length), rest = prompt.slice(cut + delim.length);
  return el("div", { id: "prompt" },
    el("details", { id: "fewshot" }, el("summary", {}, "few-shot part: " + nshot + " examples, " + shots.length + " characters (click to show)"),
      el("pre", { class: "prompt" }, shots)),
    el("pre", { class: "prompt", id: "prompt-rest" }, rest));
}

function requestList(line) {
  const args = line.arguments;
  const resps = line.resps || [];
  const list = [];
  if (Array.isArray(args)) args.forEach((a, i) => list.push({ ctx: a[0], rest: a.slice(1), resp: resps[i] }));
  else if (args && typeof args === "object")
    Object.values(args).forEach((a, i) => list.push({ ctx: a.arg_0, rest: Object.values(a).slice(1), resp: resps[i] }));
  return list;
}

async function pageSample(id, task, lineNo, params) {
  const [r, s] = await Promise.all([getRun(id), api("runs/" + enc(id) + "/sample?task=" + enc(task) + "&line=" + enc(lineNo))]);
  const cfg = r.config || {};
  const tcfg = (cfg.configs || {})[task] || {};
  const nshot = (cfg["n-shot"] || {})[task];
  const reqs = requestList(s);
  const prompt = reqs.length && typeof reqs[0].ctx === "string" ? reqs[0].ctx : "";
  const metricNames = Array.isArray(s.metrics) ? s.metrics : [];
  const mtable = el("table", { id: "sample-metrics" }, el("tbody", {}, metricNames.map((m) =>
    el("tr", {}, el("td", {}, m), el("td", { class: "num " + scoreClass(s[m]) }, fmt(s[m]))))));
  const pos = params.has("pos") ? Number(params.get("pos")) : null;
  const step = async (d) => {
    if (pos === null || pos + d < 0) return;
    const page = await api("runs/" + enc(id) + "/samples?" + sampleQuery(params, { task, offset: pos + d, limit: 1 }));
    if (!page.samples.length) { statusLine.textContent = "no more documents"; return; }
    location.hash = "#/run/" + enc(id) + "/sample/" + enc(task) + "/" + page.samples[0].line + "?" + sampleQuery(params, { pos: pos + d });
  };
  keyHandler = (e) => {
    if (e.key === "n" || e.key === "ArrowRight" || e.key === "j") { step(1); e.preventDefault(); }
    else if (e.key === "p" || e.key === "ArrowLeft" || e.key === "k") { step(-1); e.preventDefault(); }
    else if (e.key === "Escape" || e.key === "u") location.hash = "#/run/" + enc(id) + "/samples/" + enc(task) + "?" + sampleQuery(params, pos !== null ? { offset: Math.floor(pos / PAGE) * PAGE } : {});
  };
  const lls = reqs.map((q) => (Array.isArray(q.resp) && Array.isArray(q.resp[0]) ? q.resp[0][0] : null));
  const best = lls.every((x) => typeof x === "number") && lls.length > 1 ? lls.indexOf(Math.max(...lls)) : -1;
  const reqNodes = reqs.map((q, i) => el("tr", { class: [typeof s.target === "number" && s.target === i && lls.length > 1 ? "target" : "", i === best ? "chosen" : ""].join(" ").trim() || null },
    el("td", { class: "num" }, String(i)),
    el("td", { class: "cell-text" }, q.rest.map((x) => typeof x === "string" ? x : JSON.stringify(x)).join(" ")),
    el("td", { class: "cell-text" }, q.resp === undefined ? "-" : answerText(q.resp),
      i === best ? el("span", { class: "muted" }, "  ← chosen") : "", s.target === i && lls.length > 1 ? el("span", { class: "good" }, "  ← target") : "")));
  setPage(task + " · doc " + (s.doc_id === undefined ? "?" : s.doc_id) + " · run #" + r.id,
    el("p", {}, link("/run/" + r.id + "/samples/" + enc(task) + "?" + sampleQuery(params, pos !== null ? { offset: Math.floor(pos / PAGE) * PAGE } : {}), "← " + task + " samples"),
      pos !== null ? el("span", { class: "muted" }, "  document " + (pos + 1) + " of this list · ", el("span", { class: "kbd" }, "n"), "/", el("span", { class: "kbd" }, "p"), " next/previous, ", el("span", { class: "kbd" }, "u"), " back") : ""),
    meta([["doc_id", String(s.doc_id)], ["filter", s.filter || "none"], ["line", String(s.line + 1) + " of " + s.lines], ["doc hash", s.doc_hash]]),
    el("h2", {}, "Scores"), mtable,
    el("h2", {}, "Target"), el("pre", { id: "target" }, answerText(s.target)),
    el("h2", {}, "Filtered answer"), el("pre", { id: "filtered" }, answerText(s.filtered_resps)),
    el("h2", {}, "Prompt, as sent"), promptNode(prompt, tcfg, nshot),
    el("h2", {}, "Requests and responses"),
    el("table", { id: "requests" }, el("thead", {}, el("tr", {}, el("th", { class: "num" }, "#"), el("th", {}, "continuation / arguments"), el("th", {}, "response"))), el("tbody", {}, reqNodes)),
    el("details", {}, el("summary", {}, "the document"), el("pre", { id: "doc" }, show(s.doc))));
}

async function pageDoc(id, task, doc, params) {
  const q = new URLSearchParams({ task, doc_id: doc, limit: 1 });
  if (params.get("filter")) q.set("filter", params.get("filter"));
  const page = await api("runs/" + enc(id) + "/samples?" + q);
  if (!page.samples.length) throw new Error("run " + id + " has no document " + doc + " in task " + task);
  location.replace("#/run/" + enc(id) + "/sample/" + enc(task) + "/" + page.samples[0].line);
}

// --- compare ------------------------------------------------------------

async function pageCompare(a, b) {
  const runs = (await api("runs")).runs;
  const pick = (idv, value) => {
    const s = el("select", { id: idv });
    s.appendChild(el("option", { value: "" }, "choose a run"));
    for (const r of runs) s.appendChild(el("option", { value: r.id, selected: String(r.id) === String(value) }, "#" + r.id + " " + (r.model || "?") + " " + (r.date || "")));
    return s;
  };
  const sa = pick("cmp-a", a), sb = pick("cmp-b", b);
  const go = () => { if (sa.value && sb.value) location.hash = "#/compare/" + enc(sa.value) + "/" + enc(sb.value); };
  sa.addEventListener("change", go);
  sb.addEventListener("change", go);
  const controls = el("div", { class: "controls" }, el("label", {}, "A ", sa), el("label", {}, "B ", sb));
  if (!a || !b) { setPage("Compare two runs", controls, el("p", { class: "muted" }, "Choose run A and run B.")); return; }
  const c = await api("compare?a=" + enc(a) + "&b=" + enc(b));
  const rows = c.compare.rows || [];
  const tbody = el("tbody", { id: "compare-body" }, rows.map((x) => el("tr", {},
    el("td", {}, x.model ? x.model + " · " : "", x.task), el("td", {}, x.metric), el("td", {}, x.filter),
    el("td", { class: "num" }, pm(x.a, x.a_stderr)), el("td", { class: "num" }, pm(x.b, x.b_stderr)),
    el("td", { class: "num " + (x.exceeds ? (x.diff > 0 ? "good" : "bad") : "") }, (x.diff > 0 ? "+" : "") + fmt(x.diff)),
    el("td", { class: "num" }, fmt(x.stderr)), el("td", { class: "num" }, fmt(x.z, 2)),
    el("td", {}, x.exceeds === null ? "unknown" : x.exceeds ? "yes" : "no"),
    el("td", {}, x.paired_docs ? "paired, " + x.paired_docs + " docs" : "unpaired"))));
  const exceed = rows.filter((x) => x.exceeds).length;
  const flips = el("tbody", { id: "flips-body" }, c.flipped.map((f) => el("tr", {},
    el("td", {}, f.task), el("td", {}, f.metric), el("td", {}, f.filter), el("td", { class: "num" }, String(f.doc_id)),
    el("td", { class: "num" }, fmt(f.a) + " → " + fmt(f.b)),
    el("td", {}, link("/run/" + c.a.id + "/doc/" + enc(f.task) + "/" + f.doc_id + "?filter=" + enc(f.filter), "in A"), " · ",
      link("/run/" + c.b.id + "/doc/" + enc(f.task) + "/" + f.doc_id + "?filter=" + enc(f.filter), "in B")))));
  setPage("Compare #" + c.a.id + " and #" + c.b.id, controls,
    meta([["A", "#" + c.a.id + " " + (c.a.model || "?") + " " + (c.a.date || "")], ["B", "#" + c.b.id + " " + (c.b.model || "?") + " " + (c.b.date || "")]]),
    el("p", { id: "compare-summary" }, exceed + " of " + rows.length + " differences B − A exceed their standard error."),
    el("table", { id: "compare" }, el("thead", {}, el("tr", {}, el("th", {}, "task"), el("th", {}, "metric"), el("th", {}, "filter"),
      el("th", { class: "num" }, "A"), el("th", { class: "num" }, "B"), el("th", { class: "num" }, "B − A"), el("th", { class: "num" }, "se"),
      el("th", { class: "num" }, "z"), el("th", {}, "> se"), el("th", {}, "basis"))), tbody),
    el("h2", {}, "Documents whose score flipped (" + c.n_flipped + (c.n_flipped > c.flipped.length ? ", first " + c.flipped.length + " shown" : "") + ")"),
    c.flipped.length ? el("table", { id: "flips" }, el("thead", {}, el("tr", {}, el("th", {}, "task"), el("th", {}, "metric"), el("th", {}, "filter"),
      el("th", { class: "num" }, "doc"), el("th", { class: "num" }, "A → B"), el("th", {}, "open"))), flips)
      : el("p", { class: "muted" }, "None, or the runs were stored without their samples files."));
}

// --- live ---------------------------------------------------------------

async function pageLive(my) {
  const tbody = el("tbody", { id: "live-body" });
  const stamp = el("span", { id: "live-updated", class: "muted" }, "");
  setPage("Runs in progress", el("p", { class: "muted" }, "From the response cache's run journals, every second. ", stamp),
    el("table", { id: "live" }, el("thead", {}, el("tr", {}, el("th", {}, "model/task"), el("th", {}, "progress"),
      el("th", { class: "num" }, "done"), el("th", { class: "num" }, "requests/s"), el("th", { class: "num" }, "elapsed"),
      el("th", { class: "num" }, "left"), el("th", {}, "state"))), tbody));
  let polls = 0;
  const tick = async () => {
    let j;
    try { j = await api("live"); } catch (e) { stamp.textContent = "cannot update: " + e.message; return; }
    if (my !== generation) return;
    polls++;
    const rows = j.journals.map((x) => {
      const pct = x.total ? (100 * x.done / x.total) : 100;
      const tr = el("tr", { class: "live-row" },
        el("td", {}, x.name),
        el("td", {}, el("progress", { max: x.total || 1, value: x.done })),
        el("td", { class: "num live-done" }, x.done + " / " + x.total + " (" + pct.toFixed(1) + "%)"),
        el("td", { class: "num" }, fmt(x.requests_per_second, 2)),
        el("td", { class: "num" }, dur(x.elapsed_seconds)),
        el("td", { class: "num" }, x.eta_seconds !== undefined ? dur(x.eta_seconds) : "-"),
        el("td", { class: x.state === "running" ? "warn" : "good" }, x.state));
      tr.dataset.done = x.done;
      return tr;
    });
    tbody.replaceChildren(...rows);
    if (!rows.length) tbody.appendChild(el("tr", {}, el("td", { colspan: 7, class: "muted" }, "No run journals in the response cache.")));
    stamp.textContent = "updated " + new Date(j.now * 1000).toLocaleTimeString() + " (" + polls + ")";
  };
  await tick();
  liveTimer = setInterval(tick, 1000);
}

document.addEventListener("keydown", (e) => {
  if (keyHandler && !e.ctrlKey && !e.metaKey && !e.altKey) keyHandler(e);
});
window.addEventListener("hashchange", route);
route();
