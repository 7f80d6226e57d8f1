/* The designer: one draft text edited by the forms and the YAML tab, checked by the
   engine's loader and lint on the server, drawn by Graphviz, published with the version
   it started from. */
"use strict";
const boot = JSON.parse(document.getElementById("boot").textContent);
const flow = {
  name: boot.name, saved: boot.yaml, version: boot.version,
  draft: boot.yaml, problems: boot.problems, selected: null, blocks: boot.block_names,
};
const $ = id => document.getElementById(id);
const yamlBox = $("yaml");
const base = "/api/flows/" + flow.name;

function debounce(fn, ms) {
  let timer;
  const run = (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
  run.cancel = () => clearTimeout(timer);
  return run;
}

/* ---------------------------------------------------------------- draft state */

function setDraft(text, problems, options = {}) {
  flow.draft = text;
  flow.problems = problems || [];
  if (options.blocks) flow.blocks = options.blocks;
  showBlockList();
  if (!options.fromYaml && yamlBox.value !== text) yamlBox.value = text;
  gutter();
  showState();
  showProblems();
  refreshPicture();
}

function showBlockList() {
  const list = $("block-list");
  const flagged = {};
  for (const p of flow.problems) if (p.block) flagged[p.block] = p.severity;
  list.innerHTML = "";
  for (const name of flow.blocks) {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.blockLink = name;
    button.textContent = name;
    if (flagged[name]) button.classList.add("flag-" + flagged[name]);
    if (name === flow.selected) button.setAttribute("aria-current", "true");
    button.addEventListener("click", () => pick(name));
    item.appendChild(button);
    list.appendChild(item);
  }
}

function showState() {
  const errors = flow.problems.filter(p => p.severity === "error").length;
  const warnings = flow.problems.length - errors;
  const state = $("state");
  state.className = "badge " + (errors ? "errors" : warnings ? "warnings" : "valid");
  state.textContent = errors ? `${WORDS.errors}: ${errors}` : warnings ? `${WORDS.warnings}: ${warnings}` : WORDS.valid;
  $("dirty").hidden = flow.draft === flow.saved;
  $("version").textContent = flow.version || "";
  $("publish").disabled = errors > 0 || flow.draft === flow.saved;
}

function showProblems() {
  const list = $("problems");
  list.innerHTML = "";
  if (!flow.problems.length) list.innerHTML = `<li class="muted">${escapeHtml(WORDS.no_problems)}</li>`;
  for (const p of flow.problems) {
    const item = document.createElement("li");
    item.className = p.severity;
    const where = p.line ? `${p.line}:${p.column}` : "";
    item.innerHTML = `<button type="button" class="link">${escapeHtml(where)}</button> ${escapeHtml(p.block ? p.block + ": " : "")}${escapeHtml(p.message)}`;
    item.querySelector("button").addEventListener("click", () => goToProblem(p));
    list.appendChild(item);
  }
  showFieldProblems();
}

function showFieldProblems() {
  const form = $("inspector");
  form.querySelectorAll(".field-problem").forEach(el => { el.hidden = true; el.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach(el => el.removeAttribute("aria-invalid"));
  const fields = [...form.querySelectorAll("[data-field]")];
  for (const p of flow.problems) {
    if (!p.field) continue;
    let best = null;
    for (const el of fields) {
      const f = el.dataset.field;
      if ((p.field === f || p.field.startsWith(f + ".")) && (!best || f.length > best.dataset.field.length)) best = el;
    }
    if (!best) continue;
    const slot = best.querySelector(":scope > .field-problem");
    if (!slot) continue;
    slot.hidden = false;
    slot.textContent = (slot.textContent ? slot.textContent + " " : "") + p.message;
    const input = best.querySelector("input, select, textarea");
    if (input) { input.setAttribute("aria-invalid", "true"); if (slot.id === "") slot.id = "fp-" + Math.random().toString(36).slice(2); input.setAttribute("aria-describedby", slot.id); }
  }
}

function goToProblem(p) {
  if (p.block && !$("panel-picture").hidden) { pick(p.block); return; }
  showTab("yaml");
  const lines = yamlBox.value.split("\n");
  let offset = 0;
  for (let i = 0; i < Math.max(p.line - 1, 0) && i < lines.length; i++) offset += lines[i].length + 1;
  yamlBox.focus();
  yamlBox.setSelectionRange(offset, offset + (lines[p.line - 1] || "").length);
}

/* ---------------------------------------------------------------- server calls */

async function check() {
  const text = yamlBox.value;
  const r = await api("POST", base + "/check", {yaml: text});
  if (text !== yamlBox.value) return;
  if (r.status === 200) setDraft(text, r.data.problems, {fromYaml: true, blocks: r.data.blocks});
  else setDraft(text, [{severity: "error", message: r.data.error || "?", line: 0, column: 0, block: "", field: ""}], {fromYaml: true});
}

/* Edits run one after the other, each on the draft the previous one left. */
let editing = Promise.resolve(true);
function edit(ops, rerender) {
  editing = editing.then(() => applyEdit(ops, rerender), () => applyEdit(ops, rerender));
  return editing;
}

async function applyEdit(ops, rerender) {
  const r = await api("POST", base + "/edit", {yaml: flow.draft, ops});
  if (r.status !== 200) { toast(r.data.error || "?", "error"); return false; }
  setDraft(r.data.yaml, r.data.problems, {blocks: r.data.blocks});
  if (rerender) await loadInspector(flow.selected);
  else showFieldProblems();
  return true;
}

async function loadInspector(block) {
  const response = await fetch(`/flows/${flow.name}/inspector`, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": CSRF},
    body: JSON.stringify({yaml: flow.draft, block: block || ""}),
  });
  $("inspector").innerHTML = await response.text();
  showFieldProblems();
  markSelected();
}

const refreshPicture = debounce(async () => {
  const r = await fetch(base + "/picture", {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": CSRF},
    body: JSON.stringify({yaml: flow.draft}),
  });
  if (r.status !== 200) { $("picture-stale").hidden = !$("canvas").innerHTML; return; }
  $("picture-stale").hidden = true;
  $("canvas").innerHTML = await r.text();
  decoratePicture();
}, 250);

function decoratePicture() {
  const flagged = {};
  for (const p of flow.problems) if (p.block) flagged[p.block] = p.severity === "error" ? "error" : flagged[p.block] || "warning";
  document.querySelectorAll("#canvas g.node").forEach(node => {
    const name = node.querySelector("title").textContent;
    if (name === "__end") { node.classList.add("end"); node.setAttribute("aria-label", WORDS.end_of_call); return; }
    if (name.startsWith("__")) return;
    node.dataset.block = name;
    node.setAttribute("tabindex", "0");
    node.setAttribute("role", "button");
    node.setAttribute("aria-label", name);
    if (flagged[name]) node.classList.add("flag-" + flagged[name]);
    node.addEventListener("click", () => pick(name));
    node.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); pick(name); } });
  });
  markSelected();
}

function markSelected() {
  document.querySelectorAll("#canvas g.node").forEach(n => n.classList.toggle("selected", n.dataset.block === flow.selected));
  document.querySelectorAll("#block-list button").forEach(b => b.toggleAttribute("aria-current", b.dataset.blockLink === flow.selected));
}

function pick(block) {
  flow.selected = block;
  loadInspector(block).then(() => {
    const first = $("inspector").querySelector("input, textarea, select");
    if (first) first.focus();
  });
}

async function publish() {
  if ($("publish").disabled) return;
  const text = flow.draft;
  const r = await api("PUT", base, {yaml: text, base_version: flow.version});
  if (r.status === 200) {
    flow.saved = text; flow.version = r.data.version;
    setDraft(text, r.data.problems);
    toast(WORDS.published + " · " + r.data.version, "ok");
  } else if (r.status === 409) {
    showConflict(r.data);
  } else if (r.status === 422) {
    setDraft(text, r.data.problems);
    toast(r.data.error, "error");
  } else {
    toast(r.data.error || ("HTTP " + r.status), "error");
  }
}

/* ---------------------------------------------------------------- conflict, history */

function lineDiff(theirs, mine) {
  const a = (theirs || "").split("\n"), b = mine.split("\n");
  const n = a.length, m = b.length;
  const table = Array.from({length: n + 1}, () => new Int32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--)
    table[i][j] = a[i] === b[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
  const out = [];
  let i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) { out.push(["same", a[i]]); i++; j++; }
    else if (j < m && (i >= n || table[i][j + 1] >= table[i + 1][j])) { out.push(["mine", b[j]]); j++; }
    else { out.push(["theirs", a[i]]); i++; }
  }
  return out;
}

function showConflict(data) {
  const dialog = $("conflict");
  $("conflict-message").textContent = data.error;
  $("conflict-diff").innerHTML = lineDiff(data.current, flow.draft).map(([kind, line]) =>
    `<div class="${kind}"><span>${kind === "mine" ? "+" : kind === "theirs" ? "−" : " "}</span>${escapeHtml(line)}</div>`).join("");
  $("conflict-mine").onclick = () => { flow.version = data.version; dialog.close(); publish(); };
  $("conflict-theirs").onclick = () => {
    flow.saved = data.current || ""; flow.version = data.version;
    dialog.close(); setDraft(flow.saved, []); check(); loadInspector(flow.selected);
  };
  dialog.showModal();
}

async function openHistory() {
  const dialog = $("history");
  const r = await api("GET", base + "/history");
  const list = $("history-list");
  list.innerHTML = "";
  $("history-text").textContent = "";
  $("history-restore").disabled = true;
  for (const entry of r.data.history || []) {
    const item = document.createElement("li");
    item.innerHTML = `<button type="button" class="link">${escapeHtml(entry.saved)} · <code>${escapeHtml(entry.version)}</code></button>`;
    item.querySelector("button").addEventListener("click", async () => {
      const e = await api("GET", base + "/history/" + entry.id);
      $("history-text").textContent = e.data.yaml || e.data.error;
      $("history-restore").disabled = false;
      $("history-restore").onclick = async () => {
        const s = await api("POST", base + "/restore", {id: entry.id, base_version: flow.version});
        if (s.status === 200) {
          flow.version = s.data.version; flow.saved = e.data.yaml;
          dialog.close(); setDraft(e.data.yaml, []); check(); loadInspector(flow.selected);
        } else if (s.status === 409) { dialog.close(); showConflict(s.data); }
        else toast(s.data.error, "error");
      };
    });
    list.appendChild(item);
  }
  dialog.showModal();
}

/* ---------------------------------------------------------------- forms */

function valueOf(el) {
  const raw = el.value;
  switch (el.dataset.widget) {
    case "int": return raw.trim() === "" ? null : (/^-?\d+$/.test(raw.trim()) ? parseInt(raw, 10) : raw.trim());
    case "bool": return raw === "" ? null : raw === "true";
    case "list": {
      const items = raw.split("\n").map(s => s.trim()).filter(Boolean);
      return items.length ? items : null;
    }
    case "mapping": {
      const out = {};
      for (const line of raw.split("\n")) {
        const at = line.indexOf(":");
        if (at < 1) continue;
        const key = line.slice(0, at).trim();
        out[key] = scalar(line.slice(at + 1).trim());
      }
      return Object.keys(out).length ? out : null;
    }
    default: return raw === "" ? null : raw;
  }
}

function scalar(text) {
  if (/^-?\d+$/.test(text)) return parseInt(text, 10);
  if (text === "true" || text === "false") return text === "true";
  if (/^[{\[]/.test(text)) { try { return JSON.parse(text); } catch (e) { /* kept as text */ } }
  return text;
}

function fieldEdit(el) {
  const path = JSON.parse(el.dataset.path);
  const value = valueOf(el);
  return edit([value === null ? {op: "delete", path} : {op: "set", path, value}], false);
}
const typed = new Map();
function fieldTyped(el) {
  if (!typed.has(el)) typed.set(el, debounce(() => fieldEdit(el), 500));
  typed.get(el)();
}

function newBlockName(kind) {
  const names = new Set(flow.blocks);
  let i = 1;
  while (names.has(kind + "_" + i)) i++;
  return kind + "_" + i;
}

async function addBlock(kind) {
  const name = window.prompt(WORDS.new_block_name, newBlockName(kind));
  if (!name) return;
  const ok = await edit([{op: "add_block", name, value: boot.new_block[kind]}], false);
  if (ok) pick(name);
}

function bindInspector() {
  const box = $("inspector");
  box.addEventListener("input", e => {
    const el = e.target;
    if (el.dataset.path && el.tagName !== "SELECT") fieldTyped(el);
  });
  box.addEventListener("change", e => {
    const el = e.target;
    if (!el.dataset.path) return;
    if (typed.has(el)) { typed.get(el).cancel(); typed.delete(el); }
    fieldEdit(el);
  });
  box.addEventListener("click", async e => {
    const el = e.target.closest("button");
    if (!el) return;
    if (el.dataset.deletePath) await edit([{op: "delete", path: JSON.parse(el.dataset.deletePath)}], true);
    else if (el.dataset.addAction) {
      const kind = $(el.dataset.kindFrom).value;
      await edit([{op: "append", path: JSON.parse(el.dataset.addAction), value: boot.new_action[kind]}], true);
    } else if (el.dataset.optionActions) {
      const value = {actions: []};
      if (el.dataset.goto) value.goto = el.dataset.goto;
      await edit([{op: "set", path: JSON.parse(el.dataset.optionActions), value}], true);
    } else if (el.dataset.append) {
      await edit([{op: "append", path: JSON.parse(el.dataset.append), value: JSON.parse(el.dataset.value)}], true);
    } else if (el.id === "add-option") {
      const digit = $("new-digit").value.trim();
      if (!digit) { $("new-digit").focus(); return; }
      const target = flow.blocks.find(b => b !== flow.selected) || "";
      await edit([{op: "set", path: [...JSON.parse(el.dataset.path), digit], value: target}], true);
    } else if (el.id === "b-rename") {
      const name = $("b-name").value.trim();
      if (name && name !== flow.selected) {
        const old = flow.selected;
        flow.selected = name;
        if (!await edit([{op: "rename_block", name: old, new_name: name}], true)) flow.selected = old;
      }
    } else if (el.id === "b-delete") {
      if (!window.confirm(el.textContent + ": " + flow.selected + "?")) return;
      const name = flow.selected;
      flow.selected = null;
      await edit([{op: "delete_block", name}], true);
    }
  });
}

/* ---------------------------------------------------------------- tabs, YAML */

function showTab(which) {
  for (const tab of ["picture", "yaml", "prompts"]) {
    const on = tab === which;
    $("tab-" + tab).setAttribute("aria-selected", on);
    $("tab-" + tab).tabIndex = on ? 0 : -1;
    $("panel-" + tab).hidden = !on;
  }
}

function gutter() {
  const n = yamlBox.value.split("\n").length;
  const bad = new Set(flow.problems.map(p => p.line));
  let out = "";
  for (let i = 1; i <= n; i++) out += (bad.has(i) ? "● " : "") + i + "\n";
  $("yaml-lines").textContent = out;
}

function init() {
  yamlBox.value = flow.draft;
  const checkSoon = debounce(check, 300);
  yamlBox.addEventListener("input", () => {
    flow.draft = yamlBox.value;
    $("dirty").hidden = flow.draft === flow.saved;
    gutter();
    checkSoon();
  });
  yamlBox.addEventListener("scroll", () => { $("yaml-lines").scrollTop = yamlBox.scrollTop; });
  $("tab-picture").addEventListener("click", () => { showTab("picture"); loadInspector(flow.selected); });
  $("tab-yaml").addEventListener("click", () => showTab("yaml"));
  document.querySelector(".tabs").addEventListener("keydown", e => {
    if (e.key === "ArrowRight" || e.key === "ArrowLeft") {
      const tabs = ["picture", "yaml", "prompts"];
      const now = tabs.findIndex(t => $("tab-" + t).getAttribute("aria-selected") === "true");
      const next = tabs[(now + (e.key === "ArrowRight" ? 1 : tabs.length - 1)) % tabs.length];
      $("tab-" + next).click(); $("tab-" + next).focus();
    }
  });
  $("publish").addEventListener("click", publish);
  $("open-history").addEventListener("click", openHistory);
  document.querySelectorAll("dialog [data-close]").forEach(b => b.addEventListener("click", () => b.closest("dialog").close()));
  document.querySelectorAll("[data-add-block]").forEach(b => b.addEventListener("click", () => addBlock(b.dataset.addBlock)));
  document.querySelectorAll("[data-pick]").forEach(b => b.addEventListener("click", () => pick("")));
  document.addEventListener("keydown", e => {
    if ((e.ctrlKey || e.metaKey) && e.key === "s") { e.preventDefault(); publish(); }
  });
  window.addEventListener("beforeunload", e => { if (flow.draft !== flow.saved) { e.preventDefault(); e.returnValue = ""; } });
  bindInspector();
  setDraft(flow.draft, flow.problems);
}

window.flowDraft = () => flow.draft;
window.showTab = showTab;
window.markCurrentBlock = name => {
  document.querySelectorAll("#canvas g.node").forEach(n => n.classList.toggle("current", !!name && n.dataset.block === name));
};

init();
