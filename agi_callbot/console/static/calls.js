/* Calls: the live list, pushed by the server (one event stream), durations ticking here. */
"use strict";
(function () {
  const boot = JSON.parse(document.getElementById("boot").textContent);
  const body = document.querySelector("#live-calls tbody");
  const empty = document.getElementById("live-empty");
  const count = document.getElementById("live-count");
  const calls = new Map();
  let offset = 0;  // server clock - browser clock, seconds

  function row(call) {
    const tr = document.createElement("tr");
    tr.dataset.call = call.id;
    tr.dataset.uniqueid = call.uniqueid;
    tr.innerHTML = `<td>${escapeHtml(call.caller)}</td>` +
      `<td>${escapeHtml(call.flow)} <code class="muted">${escapeHtml(call.version)}</code></td>` +
      `<td class="block">${escapeHtml(call.block)}</td><td class="num duration"></td>` +
      `<td><a href="/calls/${encodeURIComponent(call.uniqueid)}"><code>${escapeHtml(call.uniqueid)}</code></a></td>`;
    return tr;
  }

  function tick() {
    const now = Date.now() / 1000 + offset;
    for (const [id, call] of calls) {
      const cell = call.tr.querySelector(".duration");
      cell.textContent = clock(now - call.started);
    }
  }

  function show() {
    empty.hidden = calls.size > 0;
    count.textContent = calls.size;
    tick();
  }

  function upsert(call) {
    const known = calls.get(call.id);
    if (known) {
      known.tr.querySelector(".block").textContent = call.block;
      Object.assign(known, call);
    } else {
      const tr = row(call);
      body.appendChild(tr);
      calls.set(call.id, {...call, tr});
    }
  }

  function snapshot(data) {
    offset = data.now - Date.now() / 1000;
    calls.clear();
    body.textContent = "";
    for (const call of data.calls) upsert(call);
    if (!data.kept) empty.textContent = WORDS.not_kept;
    show();
  }

  function changes(data) {
    offset = data.now - Date.now() / 1000;
    for (const id of data.removed) {
      const known = calls.get(id);
      if (known) { known.tr.remove(); calls.delete(id); }
    }
    for (const call of data.added) upsert(call);
    for (const [id, block] of Object.entries(data.blocks || {})) {
      const known = calls.get(Number(id));
      if (known) { known.block = block; known.tr.querySelector(".block").textContent = block; }
    }
    show();
  }

  if (!boot.kept) empty.textContent = WORDS.not_kept;
  liveFeed("/api/calls/stream", {snapshot, calls: changes});
  setInterval(tick, 1000);
})();
