// One transfer: approving someone else's draft (a second factor given in the last few minutes:
// the person may be sent to confirm and brought back with ?approve=1, where they press the button
// again), which shows the download link once; and adding a receipt the receiving school gave as a file.
import { busy, call, clearErrors, sessionToken, showErrors, wireHeader } from "./api.js";
import { withStepUp } from "./step-up.js";

wireHeader();
const root = document.getElementById("transfer");
const id = root.dataset.transfer;
const here = "/transfers/" + encodeURIComponent(id);

async function send() {
  const answer = await call("POST", `/v1/transfers/${encodeURIComponent(id)}/approve`, undefined, { session: true });
  if (!answer.ok) return showErrors([{ text: answer.message }]);
  clearErrors();
  document.getElementById("approve-section").hidden = true;
  document.getElementById("transfer-status").textContent = "Sent";
  const link = answer.data.downloadUrl.startsWith("/") ? window.location.origin + answer.data.downloadUrl : answer.data.downloadUrl;
  document.getElementById("sent-link").textContent = link;
  // The draft said what would travel; now say what did.
  const travelKey = document.getElementById("transfer-travel-key"), travelValue = document.getElementById("transfer-travel-value");
  if (travelKey && travelValue && Number.isInteger(answer.data.records)) {
    travelKey.textContent = "Records sent";
    travelValue.textContent = String(answer.data.records);
  }
  const state = document.getElementById("transfer-state");
  state.textContent = "Sent";
  state.className = "tag tag--live";
  const panel = document.getElementById("sent-result");
  panel.hidden = false;
  panel.focus();
}

const approveForm = document.getElementById("approve-form");
if (approveForm) {
  approveForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!document.getElementById("checked").checked) {
      return showErrors([{ text: "Confirm you have checked the receiving school and the reason", field: "checked" }]);
    }
    busy(document.getElementById("approve"), () => withStepUp(here + "?approve=1", send));
  });
  if (root.dataset.startApproval === "true") {
    // Back from confirming it is them: nothing is sent until they press the button here again.
    history.replaceState(null, "", here);
    document.getElementById("approve-again").hidden = false;
    document.getElementById("checked").focus();
  }
}

const copy = document.getElementById("copy-link");
copy.addEventListener("click", async () => {
  const status = document.getElementById("copy-status");
  try {
    await navigator.clipboard.writeText(document.getElementById("sent-link").textContent);
    status.textContent = "Copied.";
  } catch {
    status.textContent = "Select the link and copy it yourself.";
  }
});

const receiptForm = document.getElementById("receipt-form");
if (receiptForm) {
  receiptForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = document.getElementById("receipt-file").files[0];
    if (!file) return showErrors([{ text: "Choose the receipt file", field: "receipt-file" }]);
    if (file.size > 64 * 1024) return showErrors([{ text: "A receipt is a small file: this one is too large", field: "receipt-file" }]);
    busy(document.getElementById("add-receipt"), async () => {
      const headers = { Accept: "application/json", "Content-Type": "application/json" };
      const token = await sessionToken();
      if (token) headers["X-CSRF-Token"] = token;
      let response;
      try {
        response = await fetch("/v1/transfer-receipts", { method: "POST", headers, credentials: "same-origin", cache: "no-store", body: await file.text() });
      } catch {
        return showErrors([{ text: "Strongroom could not be reached. Check your connection and try again." }]);
      }
      if (!response.ok) {
        const problem = await response.json().catch(() => null);
        const detail = problem && problem.detail ? problem.detail : "the receipt was not accepted";
        return showErrors([{ text: "The receipt was not accepted: " + detail, field: "receipt-file" }]);
      }
      window.location.assign(here);
    });
  });
}
