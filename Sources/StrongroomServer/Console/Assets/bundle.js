// One bundle: for a draft, each item as stored beside the item as it will be sent (both drawn
// by Strongroom: the second from the draft's own choices, by the code that makes the bundle);
// approving (which needs a second factor given in the last few minutes, so the person may be
// sent to confirm and brought back with ?approve=1 to approve again), sending back, and revoking a link.
import { busy, call, showErrors, wireHeader } from "./api.js";
import { withStepUp } from "./step-up.js";

wireHeader();
const root = document.getElementById("bundle");
const id = root.dataset.bundle;
const here = "/bundles/" + encodeURIComponent(id);

async function draw(url, img, pre, alt) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  } catch {
    return { ok: false, message: "could not be loaded: check your connection and reload the page" };
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    return { ok: false, status: response.status, message: problem && problem.detail ? problem.detail : "could not be shown" };
  }
  const pages = Math.max(1, parseInt(response.headers.get("Strongroom-Preview-Pages") || "1", 10) || 1);
  if ((response.headers.get("Content-Type") || "").startsWith("image/png")) {
    if (img.src) URL.revokeObjectURL(img.src);
    img.src = URL.createObjectURL(await response.blob());
    img.alt = alt;
    img.hidden = false;
    pre.hidden = true;
  } else {
    pre.textContent = await response.text();
    pre.hidden = false;
    img.hidden = true;
  }
  return { ok: true, pages, truncated: response.headers.get("Strongroom-Preview-Truncated") === "true" };
}

async function showItem(section, page) {
  const position = section.dataset.position, record = section.dataset.record;
  const status = section.querySelector(".item-status");
  const pair = section.querySelector(".side-by-side");
  status.textContent = "Loading…";
  const pageWords = (pages) => (pages > 1 ? `page ${page} of ${pages}, ` : "");
  const sent = await draw(`/v1/bundles/${encodeURIComponent(id)}/items/${position}/preview?page=${page}`,
    section.querySelector(".item-sent"), section.querySelector(".item-sent-text"), `Item ${position} as it will be sent`);
  const stored = await draw(`/v1/attachments/${encodeURIComponent(record)}/preview?page=${page}`,
    section.querySelector(".item-original"), section.querySelector(".item-original-text"), `Item ${position} as stored`);
  if (!sent.ok) {
    pair.hidden = true;
    status.textContent = sent.status === 415
      ? "Strongroom cannot draw this kind of file. Open the record to check it before approving."
      : `Item ${position} ${sent.message}.`;
    return;
  }
  pair.hidden = false;
  const pages = sent.pages;
  status.textContent = !stored.ok ? "The stored file cannot be drawn beside it; open the record to compare."
    : sent.truncated || stored.truncated ? "Only the start of the text is shown here. Open the record and download it to read all of it before approving."
    : "";
  const sentImage = section.querySelector(".item-sent");
  if (!sentImage.hidden) sentImage.alt = `Item ${position}, ${pageWords(pages)}as it will be sent`;
  const nav = section.querySelector(".item-pages");
  nav.hidden = pages < 2;
  section.querySelector(".item-page-text").textContent = `Page ${page} of ${pages}`;
  section.querySelector(".item-previous").disabled = page <= 1;
  section.querySelector(".item-next").disabled = page >= pages;
  section.dataset.page = String(page);
  section.dataset.pages = String(pages);
}

if (root.dataset.draft === "true") {
  const sections = [...document.querySelectorAll(".bundle-item")];
  for (const section of sections) {
    const turn = (by) => {
      const pages = parseInt(section.dataset.pages || "1", 10), page = parseInt(section.dataset.page || "1", 10);
      return showItem(section, Math.min(Math.max(1, page + by), pages));
    };
    section.querySelector(".item-previous").addEventListener("click", (event) => busy(event.currentTarget, () => turn(-1)));
    section.querySelector(".item-next").addEventListener("click", (event) => busy(event.currentTarget, () => turn(1)));
  }
  // One at a time: each is drawn by the server from the evidence.
  (async () => {
    for (const section of sections) await showItem(section, 1);
  })();
}

// Approving.
const approveForm = document.getElementById("approve-form");
async function approve(days, max) {
  await withStepUp(`${here}?approve=1&days=${days}&max=${max}`, () => release(days, max));
}

async function release(days, max) {
  const answer = await call("POST", `/v1/bundles/${encodeURIComponent(id)}/approve`,
    { expiresInDays: days, maxDownloads: max }, { session: true });
  if (!answer.ok) return showErrors([{ text: answer.message }]);
  document.getElementById("approve-section").hidden = true;
  const panel = document.getElementById("release-result");
  document.getElementById("release-link").textContent = window.location.origin + answer.data.downloadUrl;
  if (answer.data.passphrase) {
    document.getElementById("release-passphrase").textContent = answer.data.passphrase;
    document.getElementById("release-passphrase-block").hidden = false;
  }
  panel.hidden = false;
  panel.focus();
}

if (approveForm) {
  approveForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const days = parseInt(document.getElementById("days").value, 10);
    const max = parseInt(document.getElementById("max").value, 10);
    if (!document.getElementById("checked").checked) {
      return showErrors([{ text: "Confirm you have checked every item as it will be sent", field: "checked" }]);
    }
    busy(document.getElementById("approve"), () => approve(days, max));
  });
  if (root.dataset.startApproval === "true") {
    // Back from confirming it is them: the terms chosen are put back, but nothing is sent until
    // they tick the box and choose Approve again here (a link alone must never release a bundle).
    const query = new URLSearchParams(window.location.search);
    for (const name of ["days", "max"]) {
      const select = document.getElementById(name);
      if ([...select.options].some((o) => o.value === query.get(name))) select.value = query.get(name);
    }
    history.replaceState(null, "", here);
    const note = document.getElementById("approve-again");
    note.hidden = false;
    document.getElementById("checked").focus();
  }

  document.getElementById("send-back-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const comment = document.getElementById("comment").value.trim();
    if (!comment) return showErrors([{ text: "Say what needs changing", field: "comment" }]);
    busy(document.getElementById("send-back"), async () => {
      const answer = await call("POST", `/v1/bundles/${encodeURIComponent(id)}/return`, { comment }, { session: true });
      if (!answer.ok) return showErrors([{ text: answer.message, field: "comment" }]);
      window.location.assign(here);
    });
  });
}

// Revoking a live link.
const revoke = document.getElementById("revoke");
if (revoke) {
  revoke.addEventListener("click", () => {
    if (!document.getElementById("revoke-sure").checked) {
      return showErrors([{ text: "Tick the box to confirm you want to stop the link working", field: "revoke-sure" }]);
    }
    busy(revoke, async () => {
      const answer = await call("DELETE", `/v1/bundles/${encodeURIComponent(id)}/link`, undefined, { session: true });
      if (!answer.ok) return showErrors([{ text: answer.message }]);
      window.location.assign(here);
    });
  });
}
