/* Teams: queue states live from AMI, hold music upload / listen / remove, moh reload. */
"use strict";
(function () {
  const board = JSON.parse(document.getElementById("boot").textContent);
  const teams = Object.fromEntries(board.teams.map(t => [t.name, t]));

  function showAmi(ami) {
    const box = document.getElementById("ami-state");
    box.className = "ami " + (ami.connected ? "on" : ami.enabled ? "down" : "off");
    box.textContent = ami.connected ? WORDS.ami_on : ami.enabled ? WORDS.ami_down + ": " + ami.error : WORDS.ami_off;
  }

  function showQueue(name, queue, ami) {
    const summary = document.querySelector(`[data-summary="${CSS.escape(name)}"]`);
    const box = document.querySelector(`[data-queue="${CSS.escape(name)}"]`);
    if (!summary || !box) return;
    if (!ami.connected) { summary.innerHTML = ""; box.innerHTML = ""; return; }
    if (!queue) {
      summary.innerHTML = "";
      box.innerHTML = `<p class="muted">${escapeHtml(WORDS.no_queue)}</p>`;
      return;
    }
    const count = state => queue.members.filter(m => m.state === state).length;
    const busy = queue.members.filter(m => m.state === "busy" || m.state === "ringing").length;
    summary.innerHTML = [
      `<span class="stat ok"><b>${queue.available}</b> ${escapeHtml(WORDS.n_available)}</span>`,
      `<span class="stat warn"><b>${count("paused")}</b> ${escapeHtml(WORDS.n_paused)}</span>`,
      `<span class="stat"><b>${busy}</b> ${escapeHtml(WORDS.n_busy)}</span>`,
      `<span class="stat ${queue.callers ? "bad" : ""}"><b>${queue.callers}</b> ${escapeHtml(WORDS.callers_waiting)}</span>`,
      `<span class="stat"><b>${clock(queue.longest_wait_s)}</b> ${escapeHtml(WORDS.longest_wait)}</span>`,
    ].join("");
    if (!queue.members.length) { box.innerHTML = `<p class="muted">${escapeHtml(WORDS.no_members)}</p>`; return; }
    box.innerHTML = `<table class="grid"><thead><tr><th scope="col">${escapeHtml(WORDS.member)}</th>` +
      `<th scope="col">${escapeHtml(WORDS.interface)}</th><th scope="col">${escapeHtml(WORDS.state)}</th></tr></thead><tbody>` +
      queue.members.map(m => `<tr><td>${escapeHtml(m.name)}</td><td><code>${escapeHtml(m.interface)}</code></td>` +
        `<td><span class="badge st-${m.state}">${escapeHtml(WORDS["st_" + m.state] || m.state)}</span>` +
        `${m.paused_reason ? ` <span class="muted">${escapeHtml(m.paused_reason)}</span>` : ""}</td></tr>`).join("") +
      `</tbody></table>`;
  }

  function showQueues(data) {
    showAmi(data.ami);
    for (const name of Object.keys(teams)) showQueue(name, data.queues[name], data.ami);
  }

  function showTracks(team) {
    const list = document.querySelector(`[data-tracks="${CSS.escape(team.name)}"]`);
    if (!team.tracks.length) { list.innerHTML = `<li class="muted">${escapeHtml(WORDS.no_music)}</li>`; return; }
    list.innerHTML = team.tracks.map(track => {
      const url = `/api/teams/${encodeURIComponent(team.name)}/music/${encodeURIComponent(track.name)}`;
      const length = track.seconds !== null ? ` · ${clock(track.seconds)}` : "";
      return `<li data-track="${escapeHtml(track.name)}"><span class="track-name">${escapeHtml(track.name)}</span>` +
        `<span class="muted">${track.linked ? escapeHtml(WORDS.default_music) + " · " : ""}${escapeHtml(track.formats.join(", "))}${length}</span>` +
        `<audio controls preload="none" src="${url}" aria-label="${escapeHtml(WORDS.listen + " " + track.name)}"></audio>` +
        `<button type="button" class="link danger" data-remove="${escapeHtml(track.name)}">${escapeHtml(WORDS.remove)}</button></li>`;
    }).join("");
  }

  async function refresh(name) {
    const r = await api("GET", "/api/teams");
    if (r.status !== 200) return;
    for (const team of r.data.teams) {
      if (teams[team.name]) { teams[team.name] = team; if (team.name === name) showTracks(team); }
    }
  }

  document.querySelectorAll("form[data-upload]").forEach(form => form.addEventListener("submit", async event => {
    event.preventDefault();
    const name = form.dataset.upload;
    const state = form.querySelector(".upload-state");
    const file = form.file.files[0];
    if (!file) return;
    const body = new FormData();
    body.append("file", file);
    state.className = "upload-state";
    state.textContent = WORDS.converting;
    form.querySelector("button").disabled = true;
    let response, data;
    try {
      response = await fetch(`/api/teams/${encodeURIComponent(name)}/music`,
        {method: "POST", body, headers: {"X-CSRF-Token": CSRF}, credentials: "same-origin"});
      data = (response.headers.get("Content-Type") || "").includes("json") ? await response.json() : {error: await response.text()};
    } catch (err) {
      response = {status: 0}; data = {error: err.message};
    }
    form.querySelector("button").disabled = false;
    if (response.status === 201) {
      state.className = "upload-state ok";
      state.textContent = WORDS.uploaded.replace("{track}", data.track);
      form.reset();
      await refresh(name);
    } else {
      state.className = "upload-state error";
      state.textContent = data.error || ("HTTP " + response.status);
    }
  }));

  document.addEventListener("click", async event => {
    const button = event.target.closest("[data-remove]");
    if (!button) return;
    const name = button.closest("[data-team]").dataset.team;
    const track = button.dataset.remove;
    if (!window.confirm(WORDS.confirm_remove_music.replace("{track}", track))) return;
    const r = await api("DELETE", `/api/teams/${encodeURIComponent(name)}/music/${encodeURIComponent(track)}`);
    if (r.status === 200) await refresh(name);
    else toast(r.data.error || "HTTP " + r.status, "error");
  });

  document.getElementById("reload-music").addEventListener("click", async () => {
    const box = document.getElementById("reload-result");
    const r = await api("POST", "/api/teams/reload");
    if (r.status === 200 && r.data.reloaded) {
      box.className = "ok"; box.textContent = WORDS.reloaded;
    } else {
      const reason = (r.data && (r.data.reason || r.data.error)) || "HTTP " + r.status;
      box.className = "warning";
      box.innerHTML = `<p>${escapeHtml(WORDS.reload_by_hand.replace("{reason}", reason))}</p>` +
        `<pre class="conf">${escapeHtml((r.data && r.data.cli) || "asterisk -rx 'moh reload'")}</pre>`;
    }
  });

  for (const team of board.teams) showTracks(team);
  showQueues({ami: board.ami, queues: Object.fromEntries(board.teams.filter(t => t.queue).map(t => [t.name, t.queue]))});
  if (board.ami.enabled) liveFeed("/api/teams/stream", {snapshot: showQueues, queues: showQueues});
})();
