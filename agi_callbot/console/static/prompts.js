/* The prompts tab: each text of the published flow, its render state, play, render,
   upload or remove a recording. */
"use strict";
(function () {
  const $ = id => document.getElementById(id);
  const base = `/api/flows/${boot.name}/prompts`;
  const player = $("prompt-audio");

  function row(p) {
    const tr = document.createElement("tr");
    const state = p.dynamic ? WORDS.dynamic : p.recording ? `${WORDS.recording}: ${p.recording}` : p.rendered ? WORDS.rendered : WORDS.not_rendered;
    const id = `rec-${p.prompt_id.replace(/[^A-Za-z0-9]/g, "_")}-${p.language}`;
    tr.innerHTML = `<td><code>${escapeHtml(p.prompt_id)}</code></td><td>${escapeHtml(p.language)}</td>
      <td>${escapeHtml(p.text)}</td><td class="state">${escapeHtml(state)}</td>
      <td class="row-actions"></td>`;
    const cell = tr.querySelector(".row-actions");
    const button = (label, handler, disabled) => {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = label; b.disabled = !!disabled;
      b.setAttribute("aria-label", `${label}: ${p.prompt_id} (${p.language})`);
      b.addEventListener("click", handler);
      cell.append(b, " ");
      return b;
    };
    button("▶ " + WORDS.play, () => { player.hidden = false; player.src = p.audio; player.play(); }, !p.audio);
    button(WORDS.render, async () => {
      const r = await api("POST", base + "/render", {prompt_id: p.prompt_id, language: p.language});
      if (r.status === 200) tr.replaceWith(row(r.data)); else toast(r.data.error, "error");
    }, p.dynamic);
    const label = document.createElement("label");
    label.className = "upload";
    label.htmlFor = id;
    label.textContent = WORDS.upload_recording;
    const input = document.createElement("input");
    input.type = "file"; input.id = id; input.accept = "audio/*,.mp3,.wav,.ogg,.m4a,.flac";
    input.addEventListener("change", async () => {
      if (!input.files.length) return;
      const form = new FormData();
      form.append("prompt_id", p.prompt_id);
      form.append("language", p.language);
      form.append("file", input.files[0]);
      const response = await fetch(base + "/recording", {method: "POST", body: form, credentials: "same-origin", headers: {"X-CSRF-Token": CSRF}});
      const data = response.headers.get("Content-Type").includes("json") ? await response.json() : {error: "HTTP " + response.status};
      if (response.status === 200) tr.replaceWith(row(data)); else toast(data.error || ("HTTP " + response.status), "error");
    });
    cell.append(input, label, " ");
    if (p.recording) button(WORDS.remove_recording, async () => {
      const r = await api("DELETE", `${base}/recording?prompt_id=${encodeURIComponent(p.prompt_id)}&language=${p.language}`);
      if (r.status === 200) tr.replaceWith(row(r.data)); else toast(r.data.error, "error");
    });
    return tr;
  }

  async function load() {
    const r = await api("GET", base);
    const body = $("prompt-rows");
    body.innerHTML = "";
    if (r.status !== 200) { toast(r.data.error, "error"); return; }
    for (const p of r.data.prompts) body.appendChild(row(p));
  }
  $("tab-prompts").addEventListener("click", () => { window.showTab("prompts"); load(); });
})();
