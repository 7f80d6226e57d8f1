/* The flows list: create, duplicate, rename, delete. */
"use strict";
(function () {
  const problem = document.getElementById("flows-error");
  const notice = document.getElementById("flows-notice");
  function fail(data) {
    problem.hidden = false;
    problem.textContent = data.error || JSON.stringify(data);
  }
  // what the last rename did, said after the list reloads with the new versions
  const said = sessionStorage.getItem("flows-notice");
  if (said) {
    sessionStorage.removeItem("flows-notice");
    notice.hidden = false;
    notice.textContent = said;
  }
  function fill(text, values) {
    return Object.entries(values).reduce((out, [k, v]) => out.replace("{" + k + "}", v), text);
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
  document.querySelectorAll("[data-rename]").forEach(button => button.addEventListener("click", async () => {
    const row = button.closest("tr");
    const name = button.dataset.rename;
    const wanted = window.prompt(fill(WORDS.rename_flow, {name}), name);
    const new_name = (wanted || "").trim();
    if (!new_name || new_name === name) return;
    const r = await api("POST", `/api/flows/${name}/rename`, {new_name, base_version: row.dataset.version});
    if (r.status !== 200) return fail(r.data);
    const callers = Object.keys(r.data.callers || {});
    let message = fill(WORDS.renamed, {name, new: new_name});
    if (callers.length) message += " " + fill(WORDS.renamed_callers, {callers: callers.join(", ")});
    sessionStorage.setItem("flows-notice", message);
    window.location.reload();
  }));
  document.querySelectorAll("[data-delete]").forEach(button => button.addEventListener("click", async () => {
    const row = button.closest("tr");
    const name = button.dataset.delete;
    let callers = row.dataset.callers;
    let question = callers ? fill(WORDS.confirm_delete_called, {name, callers}) : fill(WORDS.confirm_delete, {name});
    if (!window.confirm(question)) return;
    const url = "/api/flows/" + name + "?base_version=" + row.dataset.version;
    let r = await api("DELETE", url + (callers ? "&confirm=1" : ""));
    if (r.status === 409 && r.data.callers) {
      // someone made it a sub-flow since the list was loaded: ask again, naming them
      callers = r.data.callers.join(", ");
      if (!window.confirm(fill(WORDS.confirm_delete_called, {name, callers}))) return;
      r = await api("DELETE", url + "&confirm=1");
    }
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
