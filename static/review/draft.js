// Drafts: the reviewer's unsaved edits of a task, kept in this browser (localStorage, per user
// and task) on every edit, so a reload, a lost lease, a sign-in again or an undo of the decision
// brings them back. A draft is dropped when its task is shown decided, when the reviewer
// discards it, or a day after it was last saved.

const PREFIX = "review-draft:";
const KEEP_MS = 24 * 3600 * 1000;

export function draftKey(data) {
  return PREFIX + data.user + ":" + data.task_id;
}

function storage() {
  try { return window.localStorage; } catch (error) { return null; } // disabled storage
}

export function saveDraft(key, boxes, selected) {
  const store = storage();
  if (!store) return;
  try {
    store.setItem(key, JSON.stringify({ saved_at: Date.now(), boxes: boxes, selected: selected }));
  } catch (error) { /* full: the page still works, without a draft */ }
}

export function loadDraft(key) {
  const store = storage();
  const raw = store && store.getItem(key);
  if (!raw) return null;
  try {
    const draft = JSON.parse(raw);
    if (Array.isArray(draft.boxes) && Date.now() - draft.saved_at < KEEP_MS) return draft;
  } catch (error) { /* unreadable: dropped below */ }
  store.removeItem(key);
  return null;
}

export function clearDraft(key) {
  const store = storage();
  if (store) store.removeItem(key);
}

export function dropOldDrafts() {
  const store = storage();
  if (!store) return;
  for (let i = store.length - 1; i >= 0; i--) {
    const key = store.key(i);
    if (key && key.startsWith(PREFIX)) loadDraft(key); // drops expired or unreadable ones
  }
}
