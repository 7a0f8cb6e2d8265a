// Shred requests: the requester withdraws one (POST .../withdraw); the second person approves
// one after confirming it is them, and is shown the certificate of destruction.
import { busy, call, showProblem, wireHeader } from "./api.js";
import { withStepUp } from "./step-up.js";

wireHeader();

for (const button of document.querySelectorAll("button.withdraw")) {
  button.addEventListener("click", () => busy(button, async () => {
    const id = encodeURIComponent(button.dataset.request);
    const result = await call("POST", `/v1/shred-requests/${id}/withdraw`, {}, { session: true });
    if (!result.ok) return showProblem(result);
    window.location.reload();
  }));
}

const details = document.getElementById("request-details");
const approve = document.getElementById("approve");
if (details && approve) {
  const id = details.dataset.request;
  const here = "/retention/requests/" + encodeURIComponent(id);
  const run = () => busy(approve, () => withStepUp(here + "?approve=1", async () => {
    const status = document.getElementById("approve-status");
    status.textContent = "Shredding the records…";
    status.hidden = false;
    const result = await call("POST", `/v1/shred-requests/${encodeURIComponent(id)}/approve`, {}, { session: true });
    if (!result.ok) {
      status.hidden = true;
      return showProblem(result);
    }
    window.location.assign("/retention/certificates/" + encodeURIComponent(id));
  }));
  approve.addEventListener("click", run);
  if (details.dataset.startApproval === "true") {
    // Back from confirming: go on once, and not again on a reload.
    history.replaceState(null, "", here);
    run();
  }
}
