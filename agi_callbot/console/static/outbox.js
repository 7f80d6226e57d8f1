/* Outbox: retry failed messages, purge old ones, revoke a consent: each after a confirmation. */
"use strict";
(function () {
  const retryForm = document.getElementById("retry-form");
  if (retryForm) {
    const button = document.getElementById("retry");
    const picked = () => [...retryForm.querySelectorAll("input[name=id]:checked")].map(box => box.value);
    retryForm.addEventListener("change", () => { button.disabled = picked().length === 0; });
    retryForm.addEventListener("submit", async event => {
      event.preventDefault();
      const ids = picked();
      if (!ids.length || !window.confirm(WORDS.confirm_retry.replace("{n}", ids.length))) return;
      const r = await api("POST", "/api/outbox/retry", {ids});
      if (r.status === 200) {
        sessionStorage.setItem("toast", WORDS.retried.replace("{n}", r.data.retried.length));
        window.location.reload();
      } else toast(r.data.error || "HTTP " + r.status, "error");
    });
  }
  const purgeForm = document.getElementById("purge-form");
  if (purgeForm) purgeForm.addEventListener("submit", async event => {
    event.preventDefault();
    const days = Number(purgeForm.days.value);
    const statuses = [...purgeForm.querySelectorAll("input[name=status]:checked")].map(box => box.value);
    if (!window.confirm(WORDS.confirm_purge.replace("{days}", days).replace("{statuses}", statuses.join(", ")))) return;
    const r = await api("POST", "/api/outbox/purge", {older_than_days: days, statuses});
    if (r.status === 200) {
      sessionStorage.setItem("toast", WORDS.purged.replace("{n}", r.data.purged));
      window.location.reload();
    } else toast(r.data.error || "HTTP " + r.status, "error");
  });
  document.querySelectorAll("[data-revoke]").forEach(button => button.addEventListener("click", async () => {
    if (!window.confirm(WORDS.confirm_revoke.replace("{who}", button.dataset.who))) return;
    const r = await api("POST", "/api/optins/revoke", {seq: Number(button.dataset.revoke)});
    if (r.status === 200) {
      sessionStorage.setItem("toast", WORDS.revoked.replace("{who}", r.data.revoked));
      window.location.reload();
    } else toast(r.data.error || "HTTP " + r.status, "error");
  }));
  const said = sessionStorage.getItem("toast");
  if (said) { sessionStorage.removeItem("toast"); toast(said, "ok"); }
})();
