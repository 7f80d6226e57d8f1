/* One event stream per live page (server-sent events); the page shows when it is live. */
"use strict";
function liveFeed(url, handlers) {
  const badge = document.getElementById("live");
  const source = new EventSource(url);
  source.addEventListener("open", () => { if (badge) { badge.hidden = false; badge.classList.remove("off"); } });
  source.addEventListener("error", () => { if (badge) badge.classList.add("off"); });
  for (const [event, handler] of Object.entries(handlers)) {
    source.addEventListener(event, message => handler(JSON.parse(message.data)));
  }
  window.addEventListener("pagehide", () => source.close());
  return source;
}

function clock(seconds) {
  seconds = Math.max(0, Math.round(seconds));
  const h = Math.floor(seconds / 3600), m = Math.floor(seconds / 60) % 60, s = seconds % 60;
  const two = n => String(n).padStart(2, "0");
  return (h ? h + ":" + two(m) : m) + ":" + two(s);
}
