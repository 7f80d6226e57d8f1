/* Dashboard: figures and charts fetched again every 15 s (one request, drawn by the server). */
"use strict";
(function () {
  const two = n => String(n).padStart(2, "0");
  const clock = s => s === null ? "—" : Math.floor(s / 60) + ":" + two(s % 60);
  async function refresh() {
    if (document.hidden) return;
    const r = await api("GET", "/api/dashboard");
    if (r.status !== 200) return;
    const d = r.data;
    const set = (name, text) => { const el = document.querySelector(`[data-figure="${name}"]`); if (el) el.textContent = text; };
    set("calls_now", d.calls_now === null ? "—" : d.calls_now);
    set("calls_last_hour", d.calls_last_hour);
    set("outbox_depth", d.outbox_depth);
    set("outbox_oldest", clock(d.outbox_oldest_s));
    if (d.prompt_cache.ratio !== null) set("cache_ratio", Math.floor(d.prompt_cache.ratio * 100) + " %");
    for (const [name, svg] of Object.entries(d.charts)) {
      const box = document.querySelector(`[data-chart="${name}"]`);
      const empty = (name === "transfers" && !Object.keys(d.transfers).length)
        || (name === "transfer_waits" && !Object.keys(d.transfer_waits).length);
      if (box && svg && !empty) box.innerHTML = svg;
    }
  }
  setInterval(refresh, 15000);
})();
