// Task page: draws the boxes over the image (SVG, coordinates in original image pixels, so zoom
// and pan are just the viewBox), lets the reviewer edit them by mouse and keyboard, keeps a
// draft of the edits in the browser, keeps the lease alive (and says at once when it is gone),
// and fetches the next task's image ahead.
import { clearDraft, draftKey, dropOldDrafts, loadDraft, saveDraft } from "./draft.js";
import { beacon, heartbeat, link, refreshTokens, showNotice } from "./lease.js";
import { placeLabels } from "./labels.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#9a6324"];
const MIN_SIDE = 3; // pixels: a smaller drawn box is a slip of the mouse
const ZOOM_STEP = 1.25;
const CLICK_SLOP = 4; // screen pixels a click may move and still be a click, not a pan
// Decision keys wait this long after the image is shown: a second press of `a` that lands on the
// next task (double press, key held down) must not accept an image nobody has looked at.
const ARM_DELAY_MS = 400;
const OPACITIES = [1, 0.6, 0.3];
const BRIGHTNESS = [1, 1.5, 2, 2.5, 3];
const CONTRAST = [1, 1.5, 2];

const data = JSON.parse(document.getElementById("task-data").textContent);
const svg = document.getElementById("viewer");
const photo = document.getElementById("photo");
const layer = document.getElementById("boxes");
const labelLayer = document.getElementById("labels");
const list = document.getElementById("box-list");
const count = document.getElementById("box-count");
const help = document.getElementById("help");
const reject = document.getElementById("reject");
const acceptForm = document.getElementById("accept-form");
const full = { x: 0, y: 0, w: data.width || 1, h: data.height || 1 };
const key = draftKey(data);

function fromData(b) {
  return { class_id: b.class_id, confidence: b.confidence, threshold: b.threshold, below: b.below, box: b.box.slice(), edited: false };
}

const state = {
  boxes: data.boxes.map(fromData),
  selected: data.boxes.length ? 0 : -1, // the list is uncertain-first: the first box that caused the review
  view: Object.assign({}, full),
  drawing: false,
  drag: null,
  history: [],
  submitting: false,
  leaseLost: false,
  editable: data.editable,
  armed: false,
  labels: true,
  showBoxes: true,
  opacity: 1,
  brightness: 1,
  contrast: 1,
};
const initial = JSON.stringify(state.boxes.map(answer));

// --- geometry -------------------------------------------------------------------------------

function toImage(event, matrix) {
  const point = svg.createSVGPoint();
  point.x = event.clientX;
  point.y = event.clientY;
  return point.matrixTransform(matrix || svg.getScreenCTM().inverse());
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

function normalized(box) {
  const x1 = clamp(Math.min(box[0], box[2]), 0, full.w);
  const x2 = clamp(Math.max(box[0], box[2]), 0, full.w);
  const y1 = clamp(Math.min(box[1], box[3]), 0, full.h);
  const y2 = clamp(Math.max(box[1], box[3]), 0, full.h);
  return [x1, y1, x2, y2];
}

function setView(view) {
  view.w = Math.max(view.w, 16);
  view.h = Math.max(view.h, 16);
  state.view = view;
  svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
  render();
}

function zoomAt(point, factor) {
  const v = state.view;
  setView({ x: point.x - (point.x - v.x) * factor, y: point.y - (point.y - v.y) * factor, w: v.w * factor, h: v.h * factor });
}

function zoomToSelected() {
  const item = state.boxes[state.selected];
  if (!item) return;
  const [x1, y1, x2, y2] = item.box;
  const margin = Math.max(x2 - x1, y2 - y1) * 0.3 + 10;
  setView({ x: x1 - margin, y: y1 - margin, w: x2 - x1 + 2 * margin, h: y2 - y1 + 2 * margin });
}

function centre() {
  return { x: state.view.x + state.view.w / 2, y: state.view.y + state.view.h / 2 };
}

// The smallest box under the point: nested boxes stay selectable by clicking inside them.
function boxAt(point) {
  let found = -1;
  let area = Infinity;
  state.boxes.forEach(function (item, index) {
    const [x1, y1, x2, y2] = item.box;
    const size = (x2 - x1) * (y2 - y1);
    if (point.x >= x1 && point.x <= x2 && point.y >= y1 && point.y <= y2 && size < area) {
      found = index;
      area = size;
    }
  });
  return found;
}

// --- drawing --------------------------------------------------------------------------------

function element(name, attributes, parent) {
  const node = document.createElementNS(SVG_NS, name);
  Object.keys(attributes).forEach(function (attribute) { node.setAttribute(attribute, attributes[attribute]); });
  parent.appendChild(node);
  return node;
}

function className(item) {
  return data.classes[item.class_id] || "class " + item.class_id;
}

function confidenceText(item) {
  if (item.edited || item.confidence === null || item.confidence === undefined) return "✎";
  const threshold = item.threshold === null || item.threshold === undefined ? "no threshold" : "thr " + item.threshold.toFixed(2);
  return item.confidence.toFixed(2) + " / " + threshold;
}

function label(item) {
  if (item.edited || item.confidence === null || item.confidence === undefined) return className(item) + " ✎";
  return className(item) + " " + item.confidence.toFixed(2);
}

function unit() {
  // Image pixels per screen pixel at the current zoom, so text and handles keep their size.
  return Math.max(state.view.w / svg.clientWidth, state.view.h / svg.clientHeight) || 1;
}

function render() {
  const u = unit();
  layer.replaceChildren();
  labelLayer.replaceChildren();
  layer.style.opacity = String(state.opacity);
  labelLayer.style.opacity = String(state.opacity);
  layer.style.display = state.showBoxes ? "" : "none";
  labelLayer.style.display = state.showBoxes && state.labels ? "" : "none";
  state.boxes.forEach(function (item, index) { drawBox(item, index, u); });
  if (state.showBoxes && state.labels) drawLabels(u);
  renderList();
}

function drawBox(item, index, u) {
  const [x1, y1, x2, y2] = item.box;
  const colour = COLOURS[item.class_id % COLOURS.length];
  const selected = index === state.selected;
  const classes = "box" + (selected ? " selected" : "") + (item.below && !item.edited ? " below" : "");
  const group = element("g", { class: classes, "data-index": index }, layer);
  element("rect", { class: "outline", x: x1, y: y1, width: x2 - x1, height: y2 - y1, stroke: colour, "data-role": "outline" }, group);
  if (!selected || !state.editable) return;
  // The selected box moves by its edge and resizes by its corners; its inside pans like the rest.
  element("rect", { class: "edge", x: x1, y: y1, width: x2 - x1, height: y2 - y1, "data-role": "move" }, group);
  [[x1, y1, "nw"], [x2, y1, "ne"], [x1, y2, "sw"], [x2, y2, "se"]].forEach(function (corner) {
    const half = 5 * u;
    element("rect", { class: "handle", x: corner[0] - half, y: corner[1] - half, width: 2 * half, height: 2 * half, "data-role": corner[2] }, group);
  });
}

// Labels are laid out after measuring them, so none covers another (labels.js).
function drawLabels(u) {
  const size = 13 * u;
  const order = state.boxes.map(function (item, index) { return index; });
  if (state.selected >= 0) order.sort(function (a, b) { return (b === state.selected) - (a === state.selected); });
  const texts = order.map(function (index) {
    const item = state.boxes[index];
    const group = element("g", { class: "label" + (item.below && !item.edited ? " below" : ""), "data-index": index }, labelLayer);
    const back = element("rect", { fill: COLOURS[item.class_id % COLOURS.length] }, group);
    const text = element("text", { "font-size": size, x: 0, y: 0 }, group);
    text.textContent = (index + 1) + ": " + label(item) + (item.below && !item.edited ? " ▼" : "");
    return { group: group, back: back, text: text, item: item };
  });
  const pad = 2 * u;
  const gap = 1.5 * u; // around each label, so even their outlines never touch
  const sizes = texts.map(function (t) { const b = t.text.getBBox(); return { w: b.width + 2 * pad + 2 * gap, h: b.height + pad + 2 * gap }; });
  const spots = placeLabels(texts.map(function (t, i) { return { box: t.item.box, w: sizes[i].w, h: sizes[i].h }; }), full);
  texts.forEach(function (t, i) {
    const spot = spots[i];
    t.back.setAttribute("x", spot.x + gap);
    t.back.setAttribute("y", spot.y + gap);
    t.back.setAttribute("width", spot.w - 2 * gap);
    t.back.setAttribute("height", spot.h - 2 * gap);
    t.text.setAttribute("x", spot.x + gap + pad);
    t.text.setAttribute("y", spot.y + spot.h - gap - pad - 0.2 * size);
  });
}

function renderList() {
  list.replaceChildren();
  count.textContent = "(" + state.boxes.length + ", " + state.boxes.filter(function (b) { return b.below && !b.edited; }).length + " below threshold)";
  state.boxes.forEach(function (item, index) {
    const row = document.createElement("li");
    row.className = (index === state.selected ? "selected" : "") + (item.below && !item.edited ? " below" : "");
    row.dataset.index = index;
    const number = document.createElement("span");
    number.className = "number";
    number.textContent = index + 1;
    const name = document.createElement("button");
    name.type = "button";
    name.className = "link";
    name.textContent = className(item);
    name.addEventListener("click", function () { select(index); });
    const confidence = document.createElement("span");
    confidence.className = "confidence";
    confidence.textContent = confidenceText(item);
    row.append(number, name, confidence);
    if (item.below && !item.edited) {
      const tag = document.createElement("span");
      tag.className = "tag below";
      tag.textContent = "below";
      row.appendChild(tag);
    }
    if (state.editable) row.appendChild(classPicker(item, index));
    list.appendChild(row);
  });
  const current = list.querySelector("li.selected");
  if (current) current.scrollIntoView({ block: "nearest" });
}

function classPicker(item, index) {
  const picker = document.createElement("select");
  picker.setAttribute("aria-label", "Class of box " + (index + 1));
  data.classes.forEach(function (name, classId) {
    picker.appendChild(new Option((classId + 1) + " " + name, classId, false, classId === item.class_id));
  });
  picker.addEventListener("change", function () {
    state.selected = index;
    setClass(Number(picker.value));
    picker.blur();
  });
  return picker;
}

// --- edits and the draft --------------------------------------------------------------------

function answer(item) {
  return { class_id: item.class_id, box: item.box };
}

function changed() {
  const now = JSON.stringify(state.boxes.map(answer));
  if (now === initial) clearDraft(key); else saveDraft(key, state.boxes, state.selected);
  render();
}

function remember() {
  state.history.push(JSON.stringify({ boxes: state.boxes, selected: state.selected }));
  if (state.history.length > 100) state.history.shift();
}

function undoEdit() {
  const last = state.history.pop();
  if (!last) return;
  const saved = JSON.parse(last);
  state.boxes = saved.boxes;
  state.selected = saved.selected;
  changed();
}

function select(index) {
  state.selected = state.boxes.length ? (index + state.boxes.length) % state.boxes.length : -1;
  render();
}

function setClass(classId) {
  const item = state.boxes[state.selected];
  if (!item || !state.editable || classId >= data.classes.length || item.class_id === classId) return;
  remember();
  item.class_id = classId;
  item.edited = true;
  changed();
}

function nudge(dx, dy, resize) {
  const item = state.boxes[state.selected];
  if (!item || !state.editable) return;
  remember();
  const b = item.box;
  if (resize) {
    item.box = normalized([b[0], b[1], Math.max(b[2] + dx, b[0] + 1), Math.max(b[3] + dy, b[1] + 1)]);
  } else {
    const x = clamp(dx, -b[0], full.w - b[2]);
    const y = clamp(dy, -b[1], full.h - b[3]);
    item.box = [b[0] + x, b[1] + y, b[2] + x, b[3] + y];
  }
  item.edited = true;
  changed();
}

function deleteSelected() {
  if (state.selected < 0 || !state.editable) return;
  remember();
  state.boxes.splice(state.selected, 1);
  state.selected = Math.min(state.selected, state.boxes.length - 1);
  changed();
}

function defaultClass() {
  const item = state.boxes[state.selected];
  return item ? item.class_id : 0;
}

function addBox(box) {
  remember();
  state.boxes.push({ class_id: defaultClass(), confidence: null, threshold: null, below: false, box: box, edited: true });
  state.selected = state.boxes.length - 1;
}

function startDrawing() {
  if (!state.editable) return;
  state.drawing = true;
  svg.classList.add("drawing");
}

function stopDrawing() {
  state.drawing = false;
  svg.classList.remove("drawing");
}

// From the keyboard: a box a quarter of the view's size in its middle, then arrows move it and
// Alt+arrows size it.
function placeBoxFromKeyboard() {
  const c = centre();
  const w = Math.min(state.view.w, full.w) / 4;
  const h = Math.min(state.view.h, full.h) / 4;
  addBox(normalized([c.x - w / 2, c.y - h / 2, c.x + w / 2, c.y + h / 2]).map(function (v) { return Math.round(v * 100) / 100; }));
  stopDrawing();
  changed();
}

// --- mouse ----------------------------------------------------------------------------------

function onPointerDown(event) {
  if (event.button !== 0 && event.button !== 1) return;
  const role = event.target.dataset ? event.target.dataset.role : null;
  const point = toImage(event);
  svg.setPointerCapture(event.pointerId);
  if (state.drawing && event.button === 0) {
    addBox([point.x, point.y, point.x, point.y]);
    state.drag = { mode: "se", start: point, box: state.boxes[state.selected].box.slice(), drawn: true };
    stopDrawing();
  } else if (event.button === 0 && state.editable && (role === "move" || ["nw", "ne", "sw", "se"].includes(role))) {
    remember();
    state.drag = { mode: role, start: point, box: state.boxes[state.selected].box.slice() };
  } else {
    // Anything else pans (a box under the pointer never moves); a click without moving selects.
    state.drag = { mode: "pan", matrix: svg.getScreenCTM().inverse(), start: point, screen: [event.clientX, event.clientY], view: Object.assign({}, state.view) };
  }
  event.preventDefault();
}

function onPointerMove(event) {
  const drag = state.drag;
  if (!drag) return;
  if (drag.mode === "pan") {
    const point = toImage(event, drag.matrix);
    const view = drag.view;
    setView({ x: view.x - (point.x - drag.start.x), y: view.y - (point.y - drag.start.y), w: view.w, h: view.h });
    return;
  }
  const point = toImage(event);
  const dx = point.x - drag.start.x;
  const dy = point.y - drag.start.y;
  const [x1, y1, x2, y2] = drag.box;
  const item = state.boxes[state.selected];
  if (drag.mode === "move") {
    const mx = clamp(dx, -x1, full.w - x2);
    const my = clamp(dy, -y1, full.h - y2);
    item.box = [x1 + mx, y1 + my, x2 + mx, y2 + my];
  } else {
    const box = [x1, y1, x2, y2];
    if (drag.mode.includes("w")) box[0] = x1 + dx;
    if (drag.mode.includes("e")) box[2] = x2 + dx;
    if (drag.mode.includes("n")) box[1] = y1 + dy;
    if (drag.mode.includes("s")) box[3] = y2 + dy;
    item.box = normalized(box);
  }
  item.edited = true;
  render();
}

function onPointerUp(event) {
  const drag = state.drag;
  state.drag = null;
  if (!drag) return;
  if (drag.mode === "pan") {
    const moved = Math.hypot(event.clientX - drag.screen[0], event.clientY - drag.screen[1]);
    if (moved <= CLICK_SLOP) select(boxAt(drag.start));
    return;
  }
  const item = state.boxes[state.selected];
  item.box = item.box.map(function (v) { return Math.round(v * 100) / 100; });
  if (drag.drawn && (item.box[2] - item.box[0] < MIN_SIDE || item.box[3] - item.box[1] < MIN_SIDE)) {
    state.boxes.splice(state.selected, 1);
    state.selected = state.boxes.length - 1;
    state.history.pop();
  } else if (!item.edited) {
    state.history.pop(); // a click on the edge, not an edit
  }
  changed();
}

function onWheel(event) {
  event.preventDefault();
  zoomAt(toImage(event), event.deltaY < 0 ? 1 / ZOOM_STEP : ZOOM_STEP);
}

// --- view -----------------------------------------------------------------------------------

function next(values, current) {
  const at = values.indexOf(current);
  return values[(at + 1) % values.length];
}

function applyView() {
  photo.style.filter = "brightness(" + state.brightness + ") contrast(" + state.contrast + ")";
  document.getElementById("show-labels").checked = state.labels;
  document.getElementById("show-boxes").checked = state.showBoxes;
  document.getElementById("box-opacity").value = state.opacity;
  document.getElementById("brightness").value = state.brightness;
  document.getElementById("contrast").value = state.contrast;
  render();
}

function bindViewControls() {
  const controls = {
    "show-labels": function (input) { state.labels = input.checked; },
    "show-boxes": function (input) { state.showBoxes = input.checked; },
    "box-opacity": function (input) { state.opacity = Number(input.value); },
    brightness: function (input) { state.brightness = Number(input.value); },
    contrast: function (input) { state.contrast = Number(input.value); },
  };
  Object.keys(controls).forEach(function (id) {
    const input = document.getElementById(id);
    input.addEventListener("input", function () { controls[id](input); applyView(); });
    input.addEventListener("change", function () { input.blur(); });
  });
}

// --- keyboard -------------------------------------------------------------------------------

function typing(event) {
  const tag = event.target.tagName;
  return (tag === "INPUT" && event.target.type !== "checkbox" && event.target.type !== "range") || tag === "TEXTAREA" || tag === "SELECT";
}

const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const DECISION_KEYS = ["a", "Enter", "r", "s"];

function onKey(event) {
  const key = event.key;
  if (key === "Escape") { escape(); event.preventDefault(); return; } // whatever has focus
  if (event.target.id === "reject-reason" && key === "Enter" && event.target.value) {
    if (decisionAllowed(event)) submit(event.target.form);
    event.preventDefault();
    return;
  }
  if (event.ctrlKey || event.metaKey || typing(event)) return;
  // Enter on a focused button or link keeps its own meaning.
  if (key === "Enter" && !state.drawing && event.target !== document.body && event.target !== svg) return;
  if (help.open && key !== "?") return;
  if (DECISION_KEYS.includes(key) && !state.drawing && !decisionAllowed(event)) { event.preventDefault(); return; }
  if (!handle(event)) return;
  event.preventDefault();
}

function handle(event) {
  const key = event.key;
  if (state.drawing && (key === "Enter" || key in ARROWS)) placeBoxFromKeyboard();
  else if (key === "?") toggleHelp();
  else if (key in ARROWS) nudge(ARROWS[key][0] * (event.shiftKey ? 10 : 1), ARROWS[key][1] * (event.shiftKey ? 10 : 1), event.altKey);
  else if (/^[1-9]$/.test(key)) setClass(Number(key) - 1);
  else if (key === "a" || key === "Enter") submit(acceptForm);
  else if (key === "r") openReject();
  else if (key === "s") submit(document.getElementById("skip-form"));
  else if (key === "U") submit(document.getElementById("undo-form"));
  else if (key === "n") select(state.selected + 1);
  else if (key === "p") select(state.selected - 1);
  else if (key === "z") zoomToSelected();
  else if (key === "0") setView(Object.assign({}, full));
  else if (key === "+" || key === "=") zoomAt(centre(), 1 / ZOOM_STEP);
  else if (key === "-") zoomAt(centre(), ZOOM_STEP);
  else if (key === "b") startDrawing();
  else if (key === "Delete" || key === "Backspace" || key === "x") deleteSelected();
  else if (key === "u") undoEdit();
  else if (key === "l") { state.labels = !state.labels; applyView(); }
  else if (key === "h") { state.showBoxes = !state.showBoxes; applyView(); }
  else if (key === "o") { state.opacity = next(OPACITIES, state.opacity); applyView(); }
  else if (key === "i") { state.brightness = next(BRIGHTNESS, state.brightness); applyView(); }
  else if (key === "c") { state.contrast = next(CONTRAST, state.contrast); applyView(); }
  else return false;
  return true;
}

// A held-down key repeats, and a fast double press lands on the next task's page: neither may
// decide an image that was not on screen for ARM_DELAY_MS.
function decisionAllowed(event) {
  if (event.repeat) return false;
  if (!state.armed) showNotice(["The image has just appeared: look first, then decide."], "wait");
  return state.armed;
}

function toggleHelp() {
  if (help.open) help.close(); else help.showModal();
}

function escape() {
  if (help.open) { help.close(); return; }
  if (state.drawing) { stopDrawing(); return; }
  if (reject && reject.open) {
    reject.open = false;
    svg.focus({ preventScroll: true });
    return;
  }
  if (document.activeElement && document.activeElement !== document.body) {
    document.activeElement.blur();
    return;
  }
  state.selected = -1;
  render();
}

function openReject() {
  if (!reject) return;
  reject.open = true;
  document.getElementById("reject-reason").focus();
}

// --- decisions and the lease ----------------------------------------------------------------

// requestSubmit, not submit(): it fires the submit event, so keys go through onSubmit like a
// click on the button does.
function submit(form) {
  if (form) form.requestSubmit();
}

// Every decision, skip and release passes here whatever started it: it carries the boxes as they
// are now and the current CSRF token, and a second submit while the first is on its way is
// dropped. The draft stays until the task shows decided (a refused decision keeps the edits).
function onSubmit(event) {
  const deciding = event.target.closest(".actions") !== null;
  if (state.submitting || (deciding && state.leaseLost)) {
    event.preventDefault();
    return;
  }
  refreshTokens(event.target);
  if (event.target === acceptForm) document.getElementById("boxes-field").value = JSON.stringify(state.boxes.map(answer));
  state.submitting = true;
}

function showLease(expiresAt) {
  const lease = document.getElementById("lease");
  if (lease) lease.dataset.expires = expiresAt;
  tickLease();
}

function tickLease() {
  const lease = document.getElementById("lease");
  if (!lease || state.leaseLost || !state.editable) return;
  const left = Math.max(0, Math.round((Date.parse(lease.dataset.expires) - Date.now()) / 1000));
  lease.textContent = "Yours for " + Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0") + " (renewed while this page is open)";
}

function leaseLost(message) {
  state.leaseLost = true;
  state.editable = false;
  const lease = document.getElementById("lease");
  lease.textContent = message + " Your edits are kept in this browser.";
  lease.className = "lease lost";
  document.querySelectorAll(".actions button").forEach(function (button) { button.disabled = true; });
  render();
}

function onHeartbeat(result) {
  if (result.status === 401) {
    showNotice([result.body.message || "You are signed out.", " ", link("Sign in again", result.body.login_url)], "lost");
    return;
  }
  if (result.body.user && result.body.user !== data.user) {
    showNotice(["This browser is now signed in as " + result.body.user + " (in another tab); this page is " + data.user + "'s. ", link("Sign in as " + data.user, "/accounts/login/?next=" + encodeURIComponent(data.task_url))], "lost");
  }
  if (result.ok) showLease(result.body.expires_at);
  else if (result.status === 409 || result.status === 404) leaseLost(result.body.message || "This task is no longer yours.");
}

function onLeave() {
  if (state.editable && !state.submitting && !state.leaseLost) beacon(data.leave_url);
}

function restoreDraft() {
  if (data.decided) { clearDraft(key); return; }
  const draft = loadDraft(key);
  if (!draft || JSON.stringify(draft.boxes.map(answer)) === initial) return;
  const when = new Date(draft.saved_at).toLocaleTimeString();
  if (!state.editable) {
    showNotice(["You have unsaved edits of this task from " + when + " in this browser; they come back when it is yours again."], "info");
    return;
  }
  state.boxes = draft.boxes;
  state.selected = Math.min(draft.selected, state.boxes.length - 1);
  const discard = document.createElement("button");
  discard.type = "button";
  discard.className = "link";
  discard.textContent = "Discard them";
  discard.addEventListener("click", function () {
    clearDraft(key);
    state.boxes = data.boxes.map(fromData);
    state.selected = data.boxes.length ? 0 : -1;
    document.getElementById("notice").hidden = true;
    render();
  });
  showNotice(["Your unsaved edits from " + when + " are back. ", discard], "info");
}

// Decisions wait until the image is decoded and on screen a moment; then the next task's image
// is fetched ahead, so it shows at once after this decision.
function armWhenShown() {
  const probe = new Image();
  probe.src = data.image_url;
  const arm = function () {
    document.body.dataset.shown = "true"; // the image is decoded: on screen from here on
    setTimeout(function () {
      state.armed = true;
      document.body.dataset.armed = "true"; // decisions are taken from here on
      const notice = document.getElementById("notice");
      if (notice && notice.classList.contains("wait")) notice.hidden = true;
      if (state.editable) prefetchNext();
    }, ARM_DELAY_MS);
  };
  probe.decode().then(arm, arm);
}

function prefetchNext() {
  fetch(data.upcoming_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (response) { return response.ok ? response.json() : {}; })
    .then(function (body) { if (body.image_url) new Image().src = body.image_url; })
    .catch(function () { /* only a head start */ });
}

// --- start ----------------------------------------------------------------------------------

svg.addEventListener("pointerdown", onPointerDown);
svg.addEventListener("pointermove", onPointerMove);
svg.addEventListener("pointerup", onPointerUp);
svg.addEventListener("wheel", onWheel, { passive: false });
document.addEventListener("keydown", onKey);
window.addEventListener("resize", render);
window.addEventListener("pagehide", onLeave);
window.addEventListener("pageshow", function (event) { if (event.persisted) state.submitting = false; });
document.querySelectorAll("form[method=post]").forEach(function (form) { form.addEventListener("submit", onSubmit); });
const addButton = document.getElementById("add-box");
if (addButton) addButton.addEventListener("click", startDrawing);
bindViewControls();
dropOldDrafts();
restoreDraft();
if (state.editable) {
  heartbeat(data.renew_url, data.heartbeat_seconds, {}, { answer: onHeartbeat });
  setInterval(tickLease, 1000);
  tickLease();
}
armWhenShown();
render();
