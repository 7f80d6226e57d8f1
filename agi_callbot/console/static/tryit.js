/* Try it: a simulated call on the in-memory Asterisk with the real engine. Every key
   runs the call again from the start with all the keys so far (deterministic and fast);
   the page plays only the prompts it has not played yet. */
"use strict";
(function () {
  const call = {keys: [], active: false, played: 0, queue: [], last: null};
  const $ = id => document.getElementById(id);
  const drawer = $("drawer");
  const audio = $("try-audio");

  function outcomesFor(kind, name) {
    const choices = kind === "team" ? ["answer", "timeout", "nobody", "hangup"] : ["ANSWER", "NOANSWER", "BUSY", "CHANUNAVAIL", "HANGUP"];
    const id = `try-${kind}-${name.replace(/[^A-Za-z0-9]/g, "_")}`;
    const options = choices.map(c => `<option value="${c}">${escapeHtml(WORDS["outcome_" + c])}</option>`).join("");
    return `<div class="field"><label for="${id}">${escapeHtml(WORDS[kind])} ${escapeHtml(name)}</label><select id="${id}" data-${kind}="${escapeHtml(name)}">${options}</select></div>`;
  }

  function showOutcomes(outcomes) {
    const box = $("try-outcomes");
    const kept = {};
    box.querySelectorAll("select").forEach(s => { kept[s.id] = s.value; });
    box.innerHTML = (outcomes.teams || []).map(t => outcomesFor("team", t)).join("") + (outcomes.agents || []).map(a => outcomesFor("agent", a)).join("");
    box.querySelectorAll("select").forEach(s => {
      if (kept[s.id]) s.value = kept[s.id];
      s.addEventListener("change", () => { if (call.keys.length || call.active) run(); });
    });
  }

  function chosen(kind) {
    const out = {};
    $("try-outcomes").querySelectorAll(`select[data-${kind}]`).forEach(s => { out[s.dataset[kind]] = s.value; });
    return out;
  }

  function request(keys) {
    const body = {caller: $("try-caller").value, caller_name: $("try-name").value, keys, teams: chosen("team"), agents: chosen("agent")};
    if ($("try-draft").checked) body.yaml = window.flowDraft();
    return body;
  }

  async function run() {
    const r = await api("POST", `/api/flows/${boot.name}/try`, request(call.keys));
    if (r.status !== 200) {
      setStatus("errors", r.data.error || ("HTTP " + r.status));
      return;
    }
    const data = r.data;
    call.last = data;
    showOutcomes(data.outcomes);
    render(data);
    const fresh = data.audio.slice(call.played);
    call.played = data.audio.length;
    call.queue.push(...fresh);
    if (audio.paused) playNext();
    call.active = data.waiting;
    setButtons();
    window.markCurrentBlock(data.path[data.path.length - 1] || null);
    $("try-case").hidden = data.waiting && call.keys.length === 0;
  }

  function playNext() {
    const next = call.queue.shift();
    if (!next) return;
    audio.hidden = false;
    audio.src = next;
    audio.play().catch(() => { /* the browser may refuse autoplay: the player stays there */ });
  }
  audio.addEventListener("ended", playNext);

  function setStatus(kind, text) {
    const badge = $("try-status");
    badge.className = "badge " + kind;
    badge.textContent = text;
  }

  function render(data) {
    const list = $("try-transcript");
    list.innerHTML = "";
    let block = null;
    const add = (cls, html) => {
      const li = document.createElement("li");
      li.className = cls;
      li.innerHTML = html;
      list.appendChild(li);
      return li;
    };
    for (const e of data.events) {
      if (e.block && e.block !== block) {
        block = e.block;
        add("t-block", `<span class="t-label">${escapeHtml(WORDS.block)}</span> <strong>${escapeHtml(block)}</strong>`);
      }
      if (e.event === "say") {
        const li = add("t-say", `<span class="t-label">${escapeHtml(WORDS.said)}</span> “${escapeHtml(e.text)}”`);
        if (e.audio) {
          const play = document.createElement("button");
          play.type = "button"; play.className = "link"; play.textContent = "▶";
          play.setAttribute("aria-label", "▶ " + e.text);
          play.addEventListener("click", () => { call.queue = []; audio.hidden = false; audio.src = e.audio; audio.play(); });
          li.prepend(play, " ");
        }
      } else if (e.event === "menu") {
        add("t-keys", `<span class="t-label">${escapeHtml(WORDS.menu_event)}</span> ${escapeHtml(e.entered || "—")} → ${escapeHtml(e.outcome)}`);
      } else if (e.event === "digits") {
        add("t-keys", `<span class="t-label">${escapeHtml(WORDS.digits_event)}</span> ${escapeHtml(e.digits || "—")}${e.valid ? "" : " (" + escapeHtml(e.reason || "") + ")"}`);
      } else if (e.event === "message") {
        const p = e.payload || {};
        const text = p.text || p.body || p.template || "";
        const from = p.from ? ` · ${escapeHtml(p.from)}` : "";
        add("t-message", `<span class="t-label">${escapeHtml(WORDS.message)}</span> <strong>${escapeHtml(e.channel)}</strong> → ${escapeHtml(e.to || "")}${from}: ${escapeHtml(text)}`);
      } else if (e.event === "transfer") {
        add("t-transfer", `<span class="t-label">${escapeHtml(WORDS.transfer)}</span> ${escapeHtml(JSON.stringify(e))}`);
      } else if (e.event === "error" || e.event === "action_failed") {
        add("t-error", `<span class="t-label">${escapeHtml(WORDS.error)}</span> ${escapeHtml(e.error || "")}`);
      } else {
        const rest = Object.entries(e).filter(([k]) => !["event", "block"].includes(k)).map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
        add("t-other", `<span class="t-label">${escapeHtml(e.event)}</span> ${escapeHtml(rest)}`);
      }
    }
    for (const t of data.transfers) add("t-transfer", `<span class="t-label">${escapeHtml(WORDS.transfer)}</span> ${escapeHtml(t.team || t.agent || "")} → ${escapeHtml(t.outcome || t.status || "")}`);
    if (data.waiting) { setStatus("warnings", WORDS.waiting); add("t-wait", `⏸ ${escapeHtml(WORDS.waiting)}`); }
    else setStatus(data.status === "FAILED" ? "errors" : "valid", `${WORDS.ended}: ${data.status}`);
    if (data.error) add("t-error", escapeHtml(data.error));
    list.scrollTop = list.scrollHeight;
  }

  function setButtons() {
    document.querySelectorAll("#drawer [data-key]").forEach(b => { b.disabled = !call.active; });
    $("try-wait").disabled = !call.active;
    $("try-hangup").disabled = !call.active;
  }

  function press(key) {
    if (!call.active) return;
    call.keys.push(key);
    run();
  }

  $("try-call").addEventListener("click", () => {
    call.keys = []; call.played = 0; call.queue = []; audio.pause();
    run();
  });
  $("try-hangup").addEventListener("click", () => press("hangup"));
  $("try-wait").addEventListener("click", () => press("wait:10"));
  document.querySelectorAll("#drawer [data-key]").forEach(b => b.addEventListener("click", () => press(b.dataset.key)));
  drawer.addEventListener("keydown", e => {
    if (e.target.tagName === "INPUT") return;
    if (/^[0-9*#]$/.test(e.key)) { e.preventDefault(); press(e.key); }
  });
  $("try-case").addEventListener("submit", async e => {
    e.preventDefault();
    const body = request(call.keys);
    body.name = $("try-case-name").value.trim();
    const r = await api("POST", `/api/flows/${boot.name}/cases`, body);
    if (r.status === 200) toast(`${WORDS.case_saved} ${r.data.file}`, "ok");
    else toast(r.data.error || ("HTTP " + r.status), "error");
  });
  function toggle(open) {
    drawer.hidden = !open;
    $("open-try").setAttribute("aria-expanded", open);
    document.body.classList.toggle("trying", open);
    if (open) $("try-call").focus();
    else window.markCurrentBlock(null);
  }
  $("open-try").addEventListener("click", () => toggle(drawer.hidden));
  $("close-try").addEventListener("click", () => toggle(false));
})();
