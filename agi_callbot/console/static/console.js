/* Shared by every console page: JSON calls with the session's CSRF token, a status line. */
"use strict";
const CSRF = document.querySelector('meta[name="csrf"]').content;
const WORDS = JSON.parse((document.getElementById("words") || {}).textContent || "{}");

async function api(method, url, body) {
  const options = {method, headers: {"X-CSRF-Token": CSRF}, credentials: "same-origin"};
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (err) {
    return {status: 0, data: {error: "the console server does not answer: " + err.message}};
  }
  const type = response.headers.get("Content-Type") || "";
  let data;
  if (type.includes("json")) data = await response.json();
  else if (response.status === 413) data = {error: "too large for the console (limit: 1 MB of YAML)"};
  else data = {text: await response.text()};
  if (response.status === 401) window.location = "/login";
  return {status: response.status, data};
}

function toast(message, kind) {
  const box = document.getElementById("toast");
  box.textContent = message;
  box.className = kind || "";
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.textContent = ""; box.className = ""; }, 6000);
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, c => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
}
