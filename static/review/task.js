// Task page: draws the boxes over the image (SVG, coordinates in original image pixels, so
// zoom and pan are just the viewBox), lets the reviewer edit them by mouse and keyboard, keeps
// the lease alive while the page is open and gives it back when the page is left.
(function () {
  "use strict";

  const SVG_NS = "http://www.w3.org/2000/svg";
  const COLOURS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6", "#bfef45", "#9a6324"];
  const MIN_SIDE = 3; // pixels: a smaller drawn box is a slip of the mouse
  const ZOOM_STEP = 1.25;

  const data = JSON.parse(document.getElementById("task-data").textContent);
  const svg = document.getElementById("viewer");
  const layer = document.getElementById("boxes");
  const list = document.getElementById("box-list");
  const count = document.getElementById("box-count");
  const help = document.getElementById("help");
  const reject = document.getElementById("reject");
  const acceptForm = document.getElementById("accept-form");
  const full = { x: 0, y: 0, w: data.width || 1, h: data.height || 1 };

  const state = {
    boxes: data.boxes.map(function (b) {
      return { class_id: b.class_id, confidence: b.confidence, box: b.box.slice(), edited: false };
    }),
    selected: data.boxes.length ? 0 : -1,
    view: Object.assign({}, full),
    drawing: false,
    drag: null,
    history: [],
    submitting: false,
    leaseLost: false,
  };

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
    const minSide = 16;
    view.w = Math.max(view.w, minSide);
    view.h = Math.max(view.h, minSide);
    state.view = view;
    svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" "));
    render();
  }

  function zoomAt(point, factor) {
    const v = state.view;
    setView({
      x: point.x - (point.x - v.x) * factor,
      y: point.y - (point.y - v.y) * factor,
      w: v.w * factor,
      h: v.h * factor,
    });
  }

  function zoomToSelected() {
    const item = state.boxes[state.selected];
    if (!item) return;
    const [x1, y1, x2, y2] = item.box;
    const margin = Math.max(x2 - x1, y2 - y1) * 0.3 + 10;
    setView({ x: x1 - margin, y: y1 - margin, w: x2 - x1 + 2 * margin, h: y2 - y1 + 2 * margin });
  }

  // --- drawing --------------------------------------------------------------------------------

  function element(name, attributes, parent) {
    const node = document.createElementNS(SVG_NS, name);
    Object.keys(attributes).forEach(function (key) { node.setAttribute(key, attributes[key]); });
    parent.appendChild(node);
    return node;
  }

  function className(item) {
    return data.classes[item.class_id] || "class " + item.class_id;
  }

  function label(item) {
    if (item.edited || item.confidence === null || item.confidence === undefined) return className(item) + " ✎";
    return className(item) + " " + item.confidence.toFixed(2);
  }

  function render() {
    // Sizes in image pixels scaled to the current zoom, so text and handles look the same size.
    const unit = Math.max(state.view.w / svg.clientWidth, state.view.h / svg.clientHeight) || 1;
    layer.replaceChildren();
    state.boxes.forEach(function (item, index) { drawBox(item, index, unit); });
    renderList();
  }

  function drawBox(item, index, unit) {
    const [x1, y1, x2, y2] = item.box;
    const colour = COLOURS[item.class_id % COLOURS.length];
    const selected = index === state.selected;
    const group = element("g", { class: "box" + (selected ? " selected" : ""), "data-index": index }, layer);
    element("rect", { x: x1, y: y1, width: x2 - x1, height: y2 - y1, stroke: colour, "data-role": "move" }, group);
    const size = 13 * unit;
    // White text outlined in the class colour: readable on dark and light parcels alike.
    const text = element("text", { x: x1, y: Math.max(y1 - 4 * unit, size), "font-size": size, stroke: colour }, group);
    text.textContent = (index + 1) + ": " + label(item);
    if (selected && data.editable) {
      [[x1, y1, "nw"], [x2, y1, "ne"], [x1, y2, "sw"], [x2, y2, "se"]].forEach(function (corner) {
        const half = 5 * unit;
        element("rect", {
          class: "handle", x: corner[0] - half, y: corner[1] - half, width: 2 * half, height: 2 * half,
          "data-role": corner[2],
        }, group);
      });
    }
  }

  function renderList() {
    list.replaceChildren();
    count.textContent = "(" + state.boxes.length + ")";
    state.boxes.forEach(function (item, index) {
      const row = document.createElement("li");
      row.className = index === state.selected ? "selected" : "";
      row.dataset.index = index;
      const name = document.createElement("button");
      name.type = "button";
      name.className = "link";
      name.textContent = label(item);
      name.addEventListener("click", function () { select(index); });
      row.appendChild(name);
      if (data.editable) row.appendChild(classPicker(item, index));
      list.appendChild(row);
    });
  }

  function classPicker(item, index) {
    const picker = document.createElement("select");
    picker.setAttribute("aria-label", "Class of box " + (index + 1));
    data.classes.forEach(function (name, classId) {
      const option = new Option((classId + 1) + " " + name, classId, false, classId === item.class_id);
      picker.appendChild(option);
    });
    picker.addEventListener("change", function () {
      state.selected = index;
      setClass(Number(picker.value));
      picker.blur();
    });
    return picker;
  }

  // --- edits ----------------------------------------------------------------------------------

  function remember() {
    state.history.push(JSON.stringify({ boxes: state.boxes, selected: state.selected }));
    if (state.history.length > 100) state.history.shift();
  }

  function undo() {
    const last = state.history.pop();
    if (!last) return;
    const saved = JSON.parse(last);
    state.boxes = saved.boxes;
    state.selected = saved.selected;
    render();
  }

  function select(index) {
    state.selected = state.boxes.length ? (index + state.boxes.length) % state.boxes.length : -1;
    render();
  }

  function setClass(classId) {
    const item = state.boxes[state.selected];
    if (!item || !data.editable || classId >= data.classes.length || item.class_id === classId) return;
    remember();
    item.class_id = classId;
    item.edited = true;
    render();
  }

  function nudge(dx, dy, resize) {
    const item = state.boxes[state.selected];
    if (!item || !data.editable) return;
    remember();
    const b = item.box;
    if (resize) {
      item.box = normalized([b[0], b[1], b[2] + dx, b[3] + dy]);
    } else {
      const x = clamp(dx, -b[0], full.w - b[2]);
      const y = clamp(dy, -b[1], full.h - b[3]);
      item.box = [b[0] + x, b[1] + y, b[2] + x, b[3] + y];
    }
    item.edited = true;
    render();
  }

  function deleteSelected() {
    if (state.selected < 0 || !data.editable) return;
    remember();
    state.boxes.splice(state.selected, 1);
    state.selected = Math.min(state.selected, state.boxes.length - 1);
    render();
  }

  function startDrawing() {
    if (!data.editable) return;
    state.drawing = true;
    svg.classList.add("drawing");
  }

  // --- mouse ----------------------------------------------------------------------------------

  function onPointerDown(event) {
    if (event.button !== 0) return;
    const target = event.target;
    const group = target.closest ? target.closest("g.box") : null;
    const point = toImage(event);
    svg.setPointerCapture(event.pointerId);
    if (state.drawing && data.editable) {
      remember();
      state.boxes.push({ class_id: defaultClass(), confidence: null, box: [point.x, point.y, point.x, point.y], edited: true });
      state.selected = state.boxes.length - 1;
      state.drag = { mode: "se", start: point, box: state.boxes[state.selected].box.slice(), drawn: true };
      state.drawing = false;
      svg.classList.remove("drawing");
    } else if (group) {
      const index = Number(group.dataset.index);
      if (index !== state.selected) select(index);
      if (data.editable) {
        remember();
        state.drag = { mode: target.dataset.role || "move", start: point, box: state.boxes[index].box.slice() };
      }
    } else {
      state.drag = { mode: "pan", matrix: svg.getScreenCTM().inverse(), start: point, view: Object.assign({}, state.view) };
    }
    event.preventDefault();
  }

  function defaultClass() {
    const item = state.boxes[state.selected];
    return item ? item.class_id : 0;
  }

  function onPointerMove(event) {
    const drag = state.drag;
    if (!drag) return;
    if (drag.mode === "pan") {
      const point = toImage(event, drag.matrix);
      setView(Object.assign({}, drag.view, { x: drag.view.x - (point.x - drag.start.x), y: drag.view.y - (point.y - drag.start.y) }));
      return;
    }
    const point = toImage(event);
    const dx = point.x - drag.start.x;
    const dy = point.y - drag.start.y;
    const item = state.boxes[state.selected];
    const b = drag.box;
    if (drag.mode === "move") {
      const x = clamp(dx, -b[0], full.w - b[2]);
      const y = clamp(dy, -b[1], full.h - b[3]);
      item.box = [b[0] + x, b[1] + y, b[2] + x, b[3] + y];
    } else {
      const box = b.slice();
      if (drag.mode.includes("w")) box[0] += dx; else box[2] += dx;
      if (drag.mode.includes("n")) box[1] += dy; else box[3] += dy;
      item.box = normalized(box);
    }
    item.edited = item.edited || dx !== 0 || dy !== 0;
    render();
  }

  function onPointerUp() {
    const drag = state.drag;
    state.drag = null;
    if (!drag || drag.mode === "pan") return;
    const item = state.boxes[state.selected];
    item.box = item.box.map(function (v) { return Math.round(v * 100) / 100; });
    if (drag.drawn && (item.box[2] - item.box[0] < MIN_SIDE || item.box[3] - item.box[1] < MIN_SIDE)) {
      state.boxes.splice(state.selected, 1);
      state.selected = state.boxes.length - 1;
      state.history.pop();
    }
    if (!item.edited && !drag.drawn) state.history.pop(); // a click, not an edit
    render();
  }

  function onWheel(event) {
    event.preventDefault();
    zoomAt(toImage(event), event.deltaY < 0 ? 1 / ZOOM_STEP : ZOOM_STEP);
  }

  // --- keyboard -------------------------------------------------------------------------------

  function typing(event) {
    const tag = event.target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT";
  }

  const ARROWS = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };

  function onKey(event) {
    const key = event.key;
    if (event.target.id === "reject-reason" && key === "Enter" && event.target.value) {
      event.target.form.requestSubmit();
      event.preventDefault();
      return;
    }
    if (event.ctrlKey || event.metaKey || typing(event)) return;
    // Enter on a focused button or link keeps its own meaning.
    if (key === "Enter" && event.target !== document.body && event.target !== svg) return;
    if (key === "?") { toggleHelp(); }
    else if (help.open) { if (key === "Escape") help.close(); return; }
    else if (key in ARROWS) {
      const step = event.shiftKey ? 10 : 1;
      nudge(ARROWS[key][0] * step, ARROWS[key][1] * step, event.altKey);
    }
    else if (/^[1-9]$/.test(key)) { setClass(Number(key) - 1); }
    else if (key === "a" || key === "Enter") { accept(); }
    else if (key === "r") { openReject(); }
    else if (key === "n") { select(state.selected + 1); }
    else if (key === "p") { select(state.selected - 1); }
    else if (key === "z") { zoomToSelected(); }
    else if (key === "0") { setView(Object.assign({}, full)); }
    else if (key === "+" || key === "=") { zoomAt(centre(), 1 / ZOOM_STEP); }
    else if (key === "-") { zoomAt(centre(), ZOOM_STEP); }
    else if (key === "b") { startDrawing(); }
    else if (key === "Delete" || key === "Backspace" || key === "x") { deleteSelected(); }
    else if (key === "u") { undo(); }
    else if (key === "Escape") { escape(); }
    else { return; }
    event.preventDefault();
  }

  function centre() {
    return { x: state.view.x + state.view.w / 2, y: state.view.y + state.view.h / 2 };
  }

  function toggleHelp() {
    if (help.open) help.close(); else help.showModal();
  }

  function escape() {
    state.drawing = false;
    svg.classList.remove("drawing");
    if (reject && reject.open) reject.open = false;
    else state.selected = -1;
    render();
  }

  function openReject() {
    if (!reject) return;
    reject.open = true;
    document.getElementById("reject-reason").focus();
  }

  // --- decisions and the lease ----------------------------------------------------------------

  function payload() {
    return JSON.stringify(state.boxes.map(function (item) {
      return { class_id: item.class_id, box: item.box };
    }));
  }

  // requestSubmit, not submit(): it fires the submit event, so the keys go through onSubmit
  // like a click on the button does.
  function accept() {
    if (acceptForm) acceptForm.requestSubmit();
  }

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function renew() {
    fetch(data.renew_url, { method: "POST", headers: { "X-CSRFToken": csrfToken() }, credentials: "same-origin" })
      .then(function (response) { return response.json().then(function (body) { return [response.ok, body]; }); })
      .then(function (result) {
        if (result[0]) showLease(result[1].expires_at); else leaseLost();
      })
      .catch(function () { /* offline for a moment: the next renewal tries again */ });
  }

  function showLease(expiresAt) {
    const lease = document.getElementById("lease");
    lease.dataset.expires = expiresAt;
    tickLease();
  }

  function tickLease() {
    const lease = document.getElementById("lease");
    if (!lease || state.leaseLost) return;
    const left = Math.max(0, Math.round((Date.parse(lease.dataset.expires) - Date.now()) / 1000));
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, "0");
    lease.textContent = "Yours for " + minutes + ":" + seconds + " (renewed while this page is open)";
  }

  function leaseLost() {
    state.leaseLost = true;
    const lease = document.getElementById("lease");
    lease.textContent = "Lease lost: someone else may hold this task. Reload to see.";
    lease.classList.add("lost");
    document.querySelectorAll(".actions button").forEach(function (button) { button.disabled = true; });
  }

  function release() {
    if (state.submitting || state.leaseLost || !data.editable) return;
    const body = new FormData();
    body.append("csrfmiddlewaretoken", csrfToken());
    body.append("beacon", "1");
    navigator.sendBeacon(data.release_url, body);
  }

  // Every decision, release included, passes here whatever started it (a click, Space or Enter
  // on a button, a key calling requestSubmit): the accept carries the boxes as they are now,
  // and a second submit while the first is on its way is dropped.
  function onSubmit(event) {
    if (state.submitting || state.leaseLost) {
      event.preventDefault();
      return;
    }
    if (event.target === acceptForm) document.getElementById("boxes-field").value = payload();
    state.submitting = true;
  }

  function onPageShow(event) {
    // Back to this page from the browser's cache: the earlier submit is over, answered or not.
    if (event.persisted) state.submitting = false;
  }

  // --- start ----------------------------------------------------------------------------------

  svg.addEventListener("pointerdown", onPointerDown);
  svg.addEventListener("pointermove", onPointerMove);
  svg.addEventListener("pointerup", onPointerUp);
  svg.addEventListener("wheel", onWheel, { passive: false });
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", render);
  window.addEventListener("pageshow", onPageShow);
  document.querySelectorAll(".actions form").forEach(function (form) {
    form.addEventListener("submit", onSubmit);
  });
  const addBox = document.getElementById("add-box");
  if (addBox) addBox.addEventListener("click", startDrawing);
  if (data.editable) {
    window.addEventListener("pagehide", release);
    setInterval(renew, Math.max(5, data.lease_seconds / 3) * 1000);
    setInterval(tickLease, 1000);
    tickLease();
  }
  render();
})();
