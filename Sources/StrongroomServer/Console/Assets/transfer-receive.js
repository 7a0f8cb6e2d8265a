// Receiving a child's file: from a link (this vault fetches it: POST /v1/transfers/fetch) or a
// file chosen from disk (its bytes: POST /v1/transfers/incoming). A refusal is shown with the
// API's own words, which name the check that failed; nothing was stored then.
import { busy, call, clearErrors, sessionToken, showErrors, wireHeader } from "./api.js";

wireHeader();
const form = document.getElementById("receive-form");
const school = form.dataset.school;

for (const radio of form.querySelectorAll("input[name=how]")) {
  radio.addEventListener("change", () => {
    document.getElementById("package-link-group").hidden = !document.getElementById("how-link").checked;
    document.getElementById("package-file-group").hidden = !document.getElementById("how-file").checked;
  });
}

async function sendFile(file, child) {
  const headers = { Accept: "application/json", "Content-Type": "application/octet-stream" };
  const token = await sessionToken();
  if (token) headers["X-CSRF-Token"] = token;
  const query = "school=" + encodeURIComponent(school) + (child ? "&child=" + encodeURIComponent(child) : "");
  let response;
  try {
    response = await fetch("/v1/transfers/incoming?" + query, { method: "POST", headers, credentials: "same-origin", cache: "no-store", body: file });
  } catch {
    return { ok: false, message: "Strongroom could not be reached. Check your connection and try again." };
  }
  const data = await response.json().catch(() => null);
  if (response.ok) return { ok: true, data };
  return { ok: false, message: data && data.detail ? data.detail : "the file was not received" };
}

function refusal(message) {
  let text = message.charAt(0).toUpperCase() + message.slice(1);
  if (!/[.!?]$/.test(text)) text += ".";
  // The API's detail names the check that failed; say once that nothing was kept.
  // A link that could not be fetched was never checked: say so, not that it was refused.
  const lead = /was not fetched/i.test(text) ? "Nothing was received. "
    : /nothing was stored/i.test(text) ? "The file was refused. " : "The file was refused and nothing was stored. ";
  showErrors([{ text: lead + text }]);
}

async function show(received) {
  const details = await call("GET", "/v1/received-transfers/" + encodeURIComponent(received.id));
  const from = details.ok ? `${details.data.fromName} (${details.data.fromSchool})` : `school ${received.receipt.fromSchool}`;
  const count = received.records.length;
  document.getElementById("receive-result-heading").textContent =
    `${count} record${count === 1 ? "" : "s"} received from ${from} for child ${received.child}`;
  document.getElementById("receive-result-chronology").href =
    "/children/" + encodeURIComponent(received.child) + "?school=" + encodeURIComponent(school);
  document.getElementById("receive-result-receipt").textContent = received.receiptDelivered
    ? "The receipt reached the sending school's Strongroom."
    : "The receipt could not reach the sending school's Strongroom. Download it and give it to their designated safeguarding lead.";
  if (!received.receiptDelivered) {
    const blob = new Blob([JSON.stringify(received.receipt, null, 2) + "\n"], { type: "application/json" });
    const link = document.getElementById("receipt-download");
    link.href = URL.createObjectURL(blob);
    link.download = `receipt-${received.receipt.transfer}.json`;
    document.getElementById("receipt-download-block").hidden = false;
  }
  form.hidden = true;
  const panel = document.getElementById("receive-result");
  panel.hidden = false;
  panel.focus();
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const how = form.querySelector("input[name=how]:checked")?.value;
  const url = document.getElementById("package-link").value.trim();
  const file = document.getElementById("package-file").files[0];
  const child = document.getElementById("child-id").value.trim();
  const errors = [];
  if (!how) errors.push({ text: "Choose how the file reached you", field: "how" });
  if (how === "link" && !/^https?:\/\/\S+$/.test(url)) errors.push({ text: "Paste the link, starting https://", field: "package-link" });
  if (how === "file" && !file) errors.push({ text: "Choose the file", field: "package-file" });
  if (child && !/^[A-Za-z0-9._-]{1,64}$/.test(child)) errors.push({ text: "Enter the child's id as your school writes it, for example C1234", field: "child-id" });
  if (errors.length) return showErrors(errors);
  clearErrors();
  busy(document.getElementById("receive"), async () => {
    let answer;
    if (how === "link") {
      const body = { school, url };
      if (child) body.child = child;
      answer = await call("POST", "/v1/transfers/fetch", body, { session: true });
    } else {
      answer = await sendFile(file, child);
    }
    if (!answer.ok) return refusal(answer.message);
    await show(answer.data);
  });
});
