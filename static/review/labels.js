// Label placement for the task page: every box's label goes where it overlaps no label placed
// before it (earlier labels win: the selected box, then the uncertain boxes first), trying
// above the box, inside its top, below it, inside its bottom, left- then right-aligned, and
// last stacking up or down in label-height steps. Labels stay inside the image.

const SIDES = [
  function (b, w, h) { return [b[0], b[1] - h]; },       // above, left
  function (b, w, h) { return [b[0], b[1]]; },           // inside top, left
  function (b, w, h) { return [b[0], b[3]]; },           // below, left
  function (b, w, h) { return [b[0], b[3] - h]; },       // inside bottom, left
  function (b, w, h) { return [b[2] - w, b[1] - h]; },   // above, right
  function (b, w, h) { return [b[2] - w, b[1]]; },       // inside top, right
  function (b, w, h) { return [b[2] - w, b[3]]; },       // below, right
  function (b, w, h) { return [b[2] - w, b[3] - h]; },   // inside bottom, right
];
const STACK_STEPS = 60;

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), Math.max(low, high));
}

export function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function inside(rect, bounds) {
  return { x: clamp(rect.x, 0, bounds.w - rect.w), y: clamp(rect.y, 0, bounds.h - rect.h), w: rect.w, h: rect.h };
}

function free(rect, placed) {
  return placed.every(function (other) { return !overlaps(rect, other); });
}

function stacked(first, placed, bounds) {
  for (let step = 1; step <= STACK_STEPS; step++) {
    for (const direction of [1, -1]) {
      const rect = inside({ x: first.x, y: first.y + direction * step * first.h, w: first.w, h: first.h }, bounds);
      if (free(rect, placed)) return rect;
    }
  }
  return first; // nowhere free (hundreds of labels on a small image): overlap rather than vanish
}

// items: [{box: [x1, y1, x2, y2], w, h}] in image pixels, in priority order; bounds: {w, h}.
// Returns one {x, y, w, h} per item (top-left corner), in the same order.
export function placeLabels(items, bounds) {
  const placed = [];
  return items.map(function (item) {
    const candidates = SIDES.map(function (side) {
      const corner = side(item.box, item.w, item.h);
      return inside({ x: corner[0], y: corner[1], w: item.w, h: item.h }, bounds);
    });
    const rect = candidates.find(function (c) { return free(c, placed); }) || stacked(candidates[0], placed, bounds);
    placed.push(rect);
    return rect;
  });
}
