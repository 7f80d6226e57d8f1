/* The flows list: create, duplicate, delete. */
"use strict";
(function () {
  const problem = document.getElementById("flows-error");
  function fail(data) {
    problem.hidden = false;
    problem.textContent = data.error || JSON.stringify(data);
  }
  document.getElementById("new-flow").addEventListener("submit", async event => {
    event.preventDefault();
    const form = event.target;
    const name = form.name.value.trim();
    const r = await api("POST", "/api/flows", {name, template: form.template.value});
    if (r.status === 201) window.location = "/flows/" + name;
    else fail(r.data);
  });
  document.querySelectorAll("[data-duplicate]").forEach(button => button.addEventListener("click", async () => {
    const source = button.dataset.duplicate;
    const name = window.prompt(WORDS.new_name, source + "-copy");
    if (!name) return;
    const r = await api("POST", "/api/flows", {name, copy_of: source});
    if (r.status === 201) window.location = "/flows/" + name;
    else fail(r.data);
  }));
  document.querySelectorAll("[data-delete]").forEach(button => button.addEventListener("click", async () => {
    const row = button.closest("tr");
    const name = button.dataset.delete;
    if (!window.confirm(WORDS.confirm_delete.replace("{name}", name))) return;
    const r = await api("DELETE", "/api/flows/" + name + "?base_version=" + row.dataset.version);
    if (r.status === 200) row.remove();
    else fail(r.data);
  }));
  document.querySelectorAll("[data-restore]").forEach(button => button.addEventListener("click", async () => {
    const name = button.dataset.restore;
    const r = await api("POST", `/api/flows/${name}/restore`, {id: button.dataset.entry, base_version: null});
    if (r.status === 200) window.location = "/flows/" + name;
    else fail(r.data);
  }));
})();
