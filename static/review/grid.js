// Grid page: keyboard selection of tiles, accepting the selected ones, and the leases of every
// task on the grid (renewed while the page is open, kept a few seconds when it is left).
import { beacon, heartbeat, refreshTokens, showNotice } from "./lease.js";

const ARM_DELAY_MS = 400; // as on the task page: no decision on images not yet seen
const data = JSON.parse(document.getElementById("grid-data").textContent);
const form = document.getElementById("grid-form");
const tiles = Array.from(document.querySelectorAll(".tile"));
const counter = document.getElementById("selected-count");
const state = { focus: 0, armed: false, submitting: false };

function box(tile) { return tile.querySelector("input[type=checkbox]"); }

function columns() {
  const tops = tiles.map(function (tile) { return tile.offsetTop; });
  return Math.max(1, tops.filter(function (top) { return top === tops[0]; }).length);
}

function showFocus() {
  tiles.forEach(function (tile, index) { tile.classList.toggle("focused", index === state.focus); });
  const selected = tiles.filter(function (tile) { return box(tile).checked; }).length;
  counter.textContent = selected + " of " + tiles.length + " selected";
}

function move(step) {
  state.focus = Math.min(Math.max(state.focus + step, 0), tiles.length - 1);
  tiles[state.focus].scrollIntoView({ block: "nearest" });
  showFocus();
}

function toggleAll() {
  const all = tiles.every(function (tile) { return box(tile).checked; });
  tiles.forEach(function (tile) { box(tile).checked = !all; });
  showFocus();
}

function accept(event) {
  if (event.repeat || !state.armed) {
    showNotice(["The images have just appeared: look first, then accept."], "wait");
    return;
  }
  form.requestSubmit();
}

const KEYS = {
  ArrowRight: function () { move(1); },
  ArrowLeft: function () { move(-1); },
  ArrowDown: function () { move(columns()); },
  ArrowUp: function () { move(-columns()); },
  " ": function () { const input = box(tiles[state.focus]); input.checked = !input.checked; showFocus(); },
  "*": toggleAll,
  a: accept,
  Enter: accept,
  o: function () { window.location.href = tiles[state.focus].querySelector("a.open").href; },
  Escape: function () { tiles.forEach(function (tile) { box(tile).checked = false; }); showFocus(); },
  U: function () { const undo = document.getElementById("undo-form"); if (undo) undo.requestSubmit(); },
};

document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.metaKey || event.altKey || !(event.key in KEYS)) return;
  if (event.target.tagName === "A" && event.key === "Enter") return;
  KEYS[event.key](event);
  event.preventDefault();
});

tiles.forEach(function (tile, index) {
  tile.addEventListener("click", function () { state.focus = index; setTimeout(showFocus); });
});

form.addEventListener("submit", function (event) {
  if (state.submitting) { event.preventDefault(); return; }
  refreshTokens(form);
  state.submitting = true;
});

function onHeartbeat(result) {
  if (result.status === 401) {
    showNotice([result.body.message || "You are signed out."], "lost");
  } else if (result.ok && result.body.lost && result.body.lost.length) {
    result.body.lost.forEach(function (id) {
      const tile = document.querySelector(".tile[data-task='" + id + "']");
      if (tile) { box(tile).checked = false; box(tile).disabled = true; tile.classList.add("lost"); }
    });
    showNotice([result.body.lost.length + " image(s) are no longer yours (their lease passed); they will not be accepted."], "lost");
  }
}

heartbeat(data.renew_url, data.heartbeat_seconds, { task: data.task_ids }, { answer: onHeartbeat });
window.addEventListener("pagehide", function () { if (!state.submitting) beacon(data.leave_url, { task: data.task_ids }); });
window.addEventListener("pageshow", function (event) { if (event.persisted) state.submitting = false; });
Promise.all(Array.from(document.querySelectorAll(".thumb image")).map(function (image) {
  const probe = new Image();
  probe.src = image.getAttribute("href");
  return probe.decode().catch(function () {});
})).then(function () {
  document.body.dataset.shown = "true";
  setTimeout(function () { state.armed = true; document.body.dataset.armed = "true"; }, ARM_DELAY_MS);
});
showFocus();
