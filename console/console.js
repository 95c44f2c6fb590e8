// basefs console: plain JavaScript, no dependencies, served from the
// binary. Every view is kept live with Consul-style blocking queries
// (?index=&wait=): a request waits on the node until its answer changes,
// so an open page costs the node nothing while nothing changes.
// Everything from the node is put in the page as text (textContent),
// never as HTML; the Content-Security-Policy forbids inline script too.
"use strict";

const PAGE = 100;
const WAIT = "55s";
let generation = 0; // bumps on every navigation: older loops stop
let controller = null;
let token = sessionStorage.getItem("basefs-token") || "";

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function badge(state) {
  return el("span", { class: "badge " + state }, state);
}

function when(ms) {
  if (!ms) return "";
  const d = new Date(ms);
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC");
}

function ago(ms) {
  if (!ms) return "";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return s + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return Math.round(s / 3600) + " h ago";
  return Math.round(s / 86400) + " d ago";
}

function size(n) {
  if (n < 1024) return n + " B";
  if (n < 1048576) return (n / 1024).toFixed(1) + " KiB";
  return (n / 1048576).toFixed(1) + " MiB";
}

function short(s, n) {
  return s && s.length > n ? s.slice(0, n) + "…" : s || "";
}

function setStatus(ok, text) {
  document.getElementById("live").className = "dot " + (ok ? "live" : "down");
  document.getElementById("updated").textContent = text;
  const err = document.getElementById("error");
  if (ok) {
    err.hidden = true;
  } else {
    err.hidden = false;
    err.textContent = text;
  }
}

async function getJson(url, index, signal) {
  const sep = url.includes("?") ? "&" : "?";
  const full = index ? url + sep + "index=" + encodeURIComponent(index) + "&wait=" + WAIT : url;
  const headers = token ? { "X-Consul-Token": token } : {};
  const r = await fetch(full, { signal, headers, cache: "no-store" });
  if (r.status === 403) {
    document.getElementById("token").hidden = false;
    throw new Error("the node wants an API token (403)");
  }
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new Error((body && body.error) || "HTTP " + r.status);
  return { index: r.headers.get("X-Consul-Index"), body };
}

// Renders `url` with `render` now and again whenever its answer changes,
// until the user goes elsewhere. Errors are shown in words, and retried
// after 1, 2, 4… 10 s — never a tight polling loop.
async function live(url, render) {
  const mine = generation;
  let index = null;
  let backoff = 1000;
  while (mine === generation) {
    try {
      const { index: next, body } = await getJson(url, index, controller.signal);
      if (mine !== generation) return;
      if (next !== index || index === null) render(body);
      index = next;
      backoff = 1000;
      setStatus(true, "updated " + new Date().toLocaleTimeString());
    } catch (e) {
      if (mine !== generation || e.name === "AbortError") return;
      setStatus(false, "Cannot read from the node: " + e.message + ". Retrying in " + backoff / 1000 + " s.");
      await new Promise((res) => setTimeout(res, backoff));
      backoff = Math.min(backoff * 2, 10000);
      index = null;
    }
  }
}

function table(headers, rows) {
  // Each cell says its column, for the stacked layout at phone width.
  for (const row of rows)
    Array.from(row.children).forEach((td, i) => { if (headers[i]) td.setAttribute("data-label", headers[i]); });
  return el("div", { class: "scroll" },
    el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows)));
}

function pager(total, offset, go) {
  if (total <= PAGE) return null;
  return el("div", { class: "pager" },
    el("button", { type: "button", disabled: offset === 0, onclick: () => go(Math.max(0, offset - PAGE)) }, "← previous"),
    el("span", {}, `${offset + 1}–${Math.min(total, offset + PAGE)} of ${total}`),
    el("button", { type: "button", disabled: offset + PAGE >= total, onclick: () => go(offset + PAGE) }, "next →"));
}

function view(title, ...content) {
  const main = document.getElementById("main");
  main.replaceChildren(el("h1", {}, title), ...content.flat().filter((c) => c !== null && c !== undefined));
}

// --- Members ---------------------------------------------------------------

function members() {
  live("/v1/internal/ui/members", (rows) => {
    const alive = rows.filter((m) => m.state === "alive" || m.state === "suspect").length;
    view(`Members (${alive} of ${rows.length} alive)`,
      table(["Name", "Address", "State", "Since", "Incarnation", "Services", "Node key"],
        rows.map((m) => el("tr", { "data-member": m.name },
          el("td", {}, m.name, m.self ? el("span", { class: "muted" }, " (this node)") : null),
          el("td", { class: "mono" }, m.address),
          el("td", {}, badge(m.state)),
          el("td", { title: when(m.since) }, ago(m.since)),
          el("td", {}, m.incarnation),
          el("td", {}, m.services.length ? m.services.join(", ") : el("span", { class: "muted" }, "none")),
          el("td", { class: "mono", title: m.key }, short(m.key, 12))))));
  });
}

// --- Services --------------------------------------------------------------

function services(state) {
  state = state || { filter: "", offset: 0 };
  let last = null;
  const draw = () => {
    const f = state.filter.toLowerCase();
    const rows = last.instances.filter((i) => !f || (i.service + " " + i.id + " " + i.node + " " + i.tags.join(" ")).toLowerCase().includes(f));
    const byService = new Set(rows.map((i) => i.service));
    const shown = rows.slice(state.offset, state.offset + PAGE);
    const search = el("input", { type: "search", placeholder: "filter by name, node or tag", "aria-label": "Filter services", value: state.filter });
    search.addEventListener("input", () => { state.filter = search.value; state.offset = 0; draw(); search.focus(); });
    view(`Services (${byService.size} services, ${rows.length} instances)`,
      search,
      pager(rows.length, state.offset, (o) => { state.offset = o; draw(); }),
      table(["Service", "Instance", "Node", "Address", "Tags", "Health", "Checks"],
        shown.map((i) => el("tr", { "data-instance": i.service + "/" + i.id },
          el("td", {}, i.service),
          el("td", {}, el("a", { href: fileHref(i.path) }, i.id)),
          el("td", {}, i.node || el("span", { class: "muted" }, "no member"), " ", i.node_state !== "alive" ? badge(i.node_state) : null),
          el("td", { class: "mono" }, i.address + ":" + i.port),
          el("td", {}, i.tags.join(", ")),
          el("td", {}, badge(i.status)),
          el("td", {}, i.checks.map((c) => el("div", {}, badge(c.status), " ", c.name, c.output ? el("span", { class: "muted" }, " — " + c.output) : null)))))),
      last.bad_files.length ? el("h2", {}, "Service files that do not parse") : null,
      last.bad_files.length ? table(["File", "Why"], last.bad_files.map((b) => el("tr", {}, el("td", { class: "mono" }, b.path), el("td", {}, b.reason)))) : null);
  };
  live("/v1/internal/ui/services", (body) => { last = body; draw(); });
}

// --- Files and history --------------------------------------------------------

function fileHref(path) {
  return "#/files" + path.split("/").map(encodeURIComponent).join("/");
}

function crumbs(path) {
  const parts = path.split("/").filter(Boolean);
  const out = [el("a", { href: "#/files/" }, "/")];
  let acc = "";
  parts.forEach((p, i) => {
    acc += "/" + p;
    out.push(" ", el("a", { href: fileHref(acc) }, p), i + 1 < parts.length ? " /" : "");
  });
  return el("p", { class: "crumbs mono" }, out);
}

function revisionState(r) {
  if (r.in_view) return "in history";
  if (!r.effective) return "not authorised";
  return "lost a conflict";
}

// A line diff (longest common subsequence), bounded so a page never hangs.
function diff(a, b) {
  const x = a.split("\n"), y = b.split("\n");
  if (x.length * y.length > 4e6) return el("p", { class: "muted" }, "Too large to compare here.");
  const n = x.length, m = y.length;
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i * (m + 1) + j] = x[i] === y[j] ? lcs[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
  const lines = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) { lines.push(el("span", {}, "  " + x[i])); i++; j++; }
    else if (j < m && (i >= n || lcs[i * (m + 1) + j + 1] >= lcs[(i + 1) * (m + 1) + j])) { lines.push(el("span", { class: "add" }, "+ " + y[j])); j++; }
    else { lines.push(el("span", { class: "del" }, "- " + x[i])); i++; }
  }
  return el("pre", { class: "diff" }, lines);
}

async function showDiff(path, older, newer, where) {
  where.replaceChildren(el("p", { class: "muted" }, "comparing…"));
  try {
    const q = (h) => "/v1/internal/ui/file?path=" + encodeURIComponent(path) + "&rev=" + h;
    const [a, b] = await Promise.all([getJson(q(older)), getJson(q(newer))]);
    if (a.body.binary || b.body.binary) { where.replaceChildren(el("p", {}, "Binary content: no line diff.")); return; }
    where.replaceChildren(el("h2", {}, `Changes from ${older.slice(0, 12)} to ${newer.slice(0, 12)}`), diff(a.body.content || "", b.body.content || ""));
  } catch (e) {
    where.replaceChildren(el("p", { class: "lost" }, "Cannot compare: " + e.message));
  }
}

function fileView(path, f) {
  const parts = [crumbs(path)];
  if (!f.exists) parts.push(el("p", { class: "lost" }, "Removed; its history stays in the log."));
  if (f.target !== undefined) parts.push(el("p", {}, "Symbolic link to ", el("code", {}, f.target)));
  if (f.revision !== undefined) {
    parts.push(el("p", { class: "muted" }, `${size(f.content_size)}, revision ${f.revision.slice(0, 12)}`));
    if (f.binary) parts.push(el("p", {}, `Binary file (${size(f.content_size)}): not shown.`));
    else {
      if (f.truncated) parts.push(el("p", { class: "muted" }, `Showing the first 256 KiB of ${size(f.content_size)}.`));
      parts.push(el("pre", { "aria-label": "File content" }, f.content));
    }
  }
  const diffArea = el("div", {});
  const picked = [];
  const compare = el("button", { type: "button", disabled: true, onclick: () => {
    const [o, n] = picked.slice().sort((p, q) => f.history.findIndex((r) => r.hash === q) - f.history.findIndex((r) => r.hash === p));
    showDiff(path, o, n, diffArea);
  } }, "Compare the two selected");
  const writes = f.history.filter((r) => r.action === "write");
  parts.push(el("h2", {}, `History (${f.history.length} entries${f.conflicts ? ", with conflicting branches" : ""})`));
  if (f.conflicts) parts.push(el("p", {}, "Concurrent writes made branches. Every node keeps the same winner, marked “in history”: the branch whose writers hold the grant nearest the root, then the one with the most writers, then the greatest entry hash (docs/view_rules.md §4). The losing entries stay in the log."));
  const row = (r) => {
    const box = r.action === "write" ? el("input", { type: "checkbox", "aria-label": "select " + r.hash.slice(0, 12) }) : null;
    if (box) box.addEventListener("change", () => {
      if (box.checked) picked.push(r.hash); else picked.splice(picked.indexOf(r.hash), 1);
      while (picked.length > 2) picked.shift();
      compare.disabled = picked.length !== 2;
    });
    return el("tr", { class: r.in_view ? "" : "lost", "data-revision": r.hash },
      el("td", {}, box),
      el("td", { class: "mono", title: r.hash }, r.hash.slice(0, 12)),
      el("td", {}, r.action),
      el("td", { class: "mono", title: r.author }, short(r.author, 12)),
      el("td", { class: "mono" }, r.grant || "—"),
      el("td", {}, when(r.timestamp)),
      el("td", {}, size(r.size)),
      el("td", {}, revisionState(r)));
  };
  // The view's chain first (newest first), then each losing branch under
  // the entry it forked from, with why it lost.
  const rows = f.history.filter((r) => r.in_view).map(row);
  const byHash = new Map(f.history.map((r) => [r.hash, r]));
  const forkOf = (r) => {
    let x = r;
    while (x.parent && byHash.has(x.parent) && !byHash.get(x.parent).in_view) x = byHash.get(x.parent);
    return x;
  };
  const branches = new Map();
  for (const r of f.history.filter((h) => !h.in_view)) {
    const start = forkOf(r);
    if (!branches.has(start.hash)) branches.set(start.hash, { start, entries: [] });
    branches.get(start.hash).entries.push(r);
  }
  const depth = (g) => (g === "/" ? 0 : g.split("/").length - 1);
  for (const { start, entries } of branches.values()) {
    const winner = f.history.find((h) => h.in_view && h.parent === start.parent);
    let why;
    if (!start.effective) why = "not authorised: its writer holds no grant covering this path";
    else if (!winner) why = "lost to the branch in history";
    else if (depth(start.grant) > depth(winner.grant)) why = `lost to ${winner.hash.slice(0, 12)}, whose writer holds a grant nearer the root (${winner.grant})`;
    else why = `lost to ${winner.hash.slice(0, 12)}: equal authority, and that branch has more writers or the greater entry hash`;
    rows.push(el("tr", { class: "branch" }, el("td", { colspan: 8 },
      `Branch from ${start.parent ? start.parent.slice(0, 12) : "the path's start"}: ${why}`)));
    rows.push(...entries.map(row));
  }
  parts.push(table(["", "Entry", "Action", "Author", "Allowed by grant at", "Time", "Size", "State"], rows));
  if (writes.length >= 2) {
    parts.push(el("p", {}, compare, " ",
      el("button", { type: "button", onclick: () => showDiff(path, writes[1].hash, writes[0].hash, diffArea) }, "Compare the last two writes")));
  }
  parts.push(diffArea);
  view(path.split("/").pop() || "/", parts);
}

function files(path, offset) {
  offset = offset || 0;
  // A directory lists its entries; a file shows its content and history.
  const mine = generation;
  getJson("/v1/internal/ui/file?path=" + encodeURIComponent(path), null, controller.signal).then(({ body }) => {
    if (mine !== generation) return;
    if (body.kind !== "dir") {
      live("/v1/internal/ui/file?path=" + encodeURIComponent(path), (f) => fileView(path, f));
      return;
    }
    live("/v1/internal/ui/tree?path=" + encodeURIComponent(path) + "&offset=" + offset + "&limit=" + PAGE, (d) => {
      view("Files " + d.path, crumbs(d.path),
        d.grants.length ? el("p", { class: "muted" }, "Granted here: ", d.grants.map((k) => el("code", { title: k }, short(k, 12) + " "))) : null,
        pager(d.total, d.offset, (o) => restart(() => files(path, o))),
        table(["Name", "Kind", "Size", "Modified", "Author", "Revisions"],
          d.entries.map((e) => {
            const full = (d.path === "/" ? "" : d.path) + "/" + e.name;
            return el("tr", {},
              el("td", {}, el("a", { href: fileHref(full) }, e.name + (e.kind === "dir" ? "/" : ""))),
              el("td", {}, e.kind),
              el("td", {}, e.kind === "dir" ? "" : size(e.size)),
              el("td", { title: when(e.modified) }, ago(e.modified)),
              el("td", { class: "mono", title: e.author }, short(e.author, 12)),
              el("td", {}, el("a", { href: fileHref(full) }, e.revisions)));
          })));
    });
  }).catch((e) => {
    if (mine !== generation || e.name === "AbortError") return;
    view("Files " + path, crumbs(path), el("p", { class: "lost" }, e.message));
  });
}

function grants() {
  live("/v1/internal/ui/grants", (rows) => {
    view("Grants", el("p", { class: "muted" }, "Who may write where: a grant covers everything below its directory; revocations remove rows."),
      table(["Path", "Key"], rows.map((g) => el("tr", {},
        el("td", { class: "mono" }, el("a", { href: fileHref(g.path) }, g.path)),
        el("td", { class: "mono" }, g.key, g.root ? el("span", { class: "muted" }, " (root key)") : null)))));
  });
}

// --- Routing -------------------------------------------------------------------

// Stops every loop of the page shown, then runs `show`.
function restart(show) {
  generation++;
  if (controller) controller.abort();
  controller = new AbortController();
  show();
}

function route() {
  let hash = location.hash.slice(1) || "/members";
  try {
    hash = decodeURIComponent(hash);
  } catch (e) {
    hash = "/members";
  }
  const name = hash.split("/")[1];
  for (const a of document.querySelectorAll("nav a")) {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  restart(() => {
    if (name === "services") services();
    else if (name === "files") files(hash.slice("/files".length) || "/");
    else if (name === "grants") grants();
    else members();
  });
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", async () => {
  document.getElementById("token-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = document.getElementById("token-input").value;
    sessionStorage.setItem("basefs-token", token);
    document.getElementById("token").hidden = true;
    route();
  });
  try {
    const { body } = await getJson("/v1/internal/ui/node");
    document.getElementById("cluster").textContent = `${body.datacenter} · ${body.name}`;
    document.title = `basefs ${body.datacenter} · ${body.name}`;
  } catch (e) { /* shown by the view's own loop */ }
  route();
});
