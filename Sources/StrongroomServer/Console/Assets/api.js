// Calls to Strongroom's JSON routes, and the error summary every console page shares.
// Nothing here writes a passphrase, code or token anywhere but the request body.

let csrfToken = null;

/** The session's CSRF token, from GET /v1/session (null when not signed in). */
export async function sessionToken() {
  if (csrfToken) return csrfToken;
  const response = await fetch("/v1/session", { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) return null;
  csrfToken = (await response.json()).csrfToken;
  return csrfToken;
}

/**
 * Sends one request. Returns { ok, status, data } on success, or { ok: false, status, message }
 * with the problem document's detail (or a plain sentence when the server did not send one).
 * With `session`, adds the X-CSRF-Token header that every change made with the cookie needs.
 */
export async function call(method, path, body, { session = false } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session) {
    const token = await sessionToken();
    if (token) headers["X-CSRF-Token"] = token;
  }
  let response;
  try {
    response = await fetch(path, {
      method, headers, credentials: "same-origin", cache: "no-store",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, message: "Strongroom could not be reached. Check your connection and try again." };
  }
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json().catch(() => null) : null;
  if (response.ok) return { ok: true, status: response.status, data };
  return { ok: false, status: response.status, slug: problemSlug(data), message: problemMessage(response, data) };
}

function problemSlug(data) {
  const type = data && typeof data.type === "string" ? data.type : "";
  return type.startsWith("urn:strongroom:problem:") ? type.slice("urn:strongroom:problem:".length) : "";
}

function problemMessage(response, data) {
  if (response.status === 429) {
    const seconds = parseInt(response.headers.get("Retry-After") || "", 10);
    if (seconds > 0) {
      return `Too many attempts. Wait ${waitText(seconds)}, then try again.`;
    }
    return "Too many attempts. Wait a moment, then try again.";
  }
  if (response.status === 401 && problemSlug(data) === "sign-in-failed") {
    return "The details you entered are not right. Check them and try again.";
  }
  if (data && typeof data.detail === "string" && data.detail) return sentence(data.detail);
  return "Something went wrong. Try again.";
}

function waitText(seconds) {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? "" : "s"}`;
}

function sentence(text) {
  const capitalised = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capitalised) ? capitalised : capitalised + ".";
}

/** Hides the error summary and every message beside a field. */
export function clearErrors() {
  const summary = document.getElementById("error-summary");
  if (summary) {
    summary.hidden = true;
    document.getElementById("error-summary-list").replaceChildren();
  }
  for (const message of document.querySelectorAll(".error-message")) {
    message.hidden = true;
    message.textContent = "";
  }
  for (const group of document.querySelectorAll(".form-group--error")) group.classList.remove("form-group--error");
  for (const input of document.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/**
 * Shows errors: each { text, field? } in the summary at the top (a link to the field when it
 * names one) and again beside its field. The summary takes focus so a screen reader reads it.
 */
export function showErrors(errors) {
  clearErrors();
  const summary = document.getElementById("error-summary");
  const list = document.getElementById("error-summary-list");
  for (const { text, field } of errors) {
    const item = document.createElement("li");
    const input = field ? document.getElementById(field) : null;
    if (input) {
      const link = document.createElement("a");
      link.href = "#" + field;
      link.textContent = text;
      link.addEventListener("click", (event) => {
        event.preventDefault();
        input.focus();
      });
      item.append(link);
      const message = document.getElementById(field + "-error");
      if (message) {
        message.textContent = text;
        message.hidden = false;
        input.setAttribute("aria-describedby", [message.id, input.getAttribute("aria-describedby")].filter(Boolean).join(" "));
      }
      document.getElementById(field + "-group")?.classList.add("form-group--error");
      input.setAttribute("aria-invalid", "true");
    } else {
      item.textContent = text;
    }
    list.append(item);
  }
  summary.hidden = false;
  summary.focus();
  summary.scrollIntoView({ block: "start" });
}

/** Shows one problem from `call`, beside `field` when given. */
export function showProblem(result, field) {
  showErrors([{ text: result.message, field }]);
}

/** Disables a button while `work` runs, so a second click does not send a second request. */
export async function busy(button, work) {
  button.disabled = true;
  button.setAttribute("aria-disabled", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-disabled");
  }
}

/** A path on this service to go to next, or /account (the server checks it too). */
export function safeNext(path) {
  return typeof path === "string" && /^\/(?![\/\\])[\x21-\x7e]*$/.test(path) && !path.includes("\\") ? path : "/account";
}

/** Signs out this browser and goes to the sign-in page. */
export async function signOut() {
  await call("DELETE", "/v1/session", undefined, { session: true });
  csrfToken = null;
  window.location.assign("/sign-in");
}

/** Wires the header's "Sign out" button, when the page has one. */
export function wireHeader() {
  const button = document.getElementById("header-sign-out");
  if (button) button.addEventListener("click", () => busy(button, signOut));
}

/**
 * Seconds left of the session's step-up window, as the server counts it (compared with the
 * server's own clock, its Date header, so a wrong clock here does not matter); null when the
 * session has ended.
 */
export async function secondsOfStepUpLeft() {
  const response = await fetch("/v1/session", { credentials: "same-origin", cache: "no-store" });
  if (!response.ok) return null;
  const session = await response.json();
  const now = Date.parse(response.headers.get("Date") || "") || Date.now();
  return (Date.parse(session.stepUpUntil) - now) / 1000;
}
