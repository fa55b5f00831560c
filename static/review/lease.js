// The lease seen from a review page: a heartbeat that renews it every few seconds (and so learns
// within that time that it is gone, or that the session ended), a beacon when the page is left
// (the server keeps the task a few seconds more, for a reload), and the CSRF token read from its
// cookie at the moment of sending (a sign-in in another tab replaces it; a token copied into the
// page when it loaded would then be refused).

export function csrfToken() {
  const cookie = document.cookie.split("; ").find(function (part) { return part.startsWith("csrftoken="); });
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

// Forms carry the current token, whatever the page was rendered with.
export function refreshTokens(form) {
  form.querySelectorAll("input[name=csrfmiddlewaretoken]").forEach(function (input) { input.value = csrfToken(); });
}

export function post(url, fields) {
  const body = new FormData();
  Object.keys(fields || {}).forEach(function (name) {
    [].concat(fields[name]).forEach(function (value) { body.append(name, value); });
  });
  return fetch(url, {
    method: "POST",
    body: body,
    credentials: "same-origin",
    headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" },
  }).then(function (response) {
    return response.json().catch(function () { return {}; }).then(function (json) {
      return { status: response.status, ok: response.ok, body: json };
    });
  });
}

export function beacon(url, fields) {
  const body = new FormData();
  body.append("csrfmiddlewaretoken", csrfToken());
  Object.keys(fields || {}).forEach(function (name) {
    [].concat(fields[name]).forEach(function (value) { body.append(name, value); });
  });
  navigator.sendBeacon(url, body);
}

// handlers: {answer(result)}; returns a function that beats at once.
export function heartbeat(url, seconds, fields, handlers) {
  function beat() {
    post(url, fields).then(handlers.answer).catch(function () { /* offline a moment: next beat */ });
  }
  setInterval(beat, seconds * 1000);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) beat(); });
  window.addEventListener("pageshow", function (event) { if (event.persisted) beat(); });
  return beat;
}

// parts: strings and elements, shown in the page's notice line.
export function showNotice(parts, kind) {
  const notice = document.getElementById("notice");
  if (!notice) return;
  notice.className = "notice " + (kind || "");
  notice.replaceChildren(...parts);
  notice.hidden = false;
}

export function link(text, href) {
  const a = document.createElement("a");
  a.textContent = text;
  a.href = href;
  return a;
}
