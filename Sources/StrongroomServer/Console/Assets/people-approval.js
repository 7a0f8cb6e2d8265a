// "Approve or decline this role": one of the two, then back to the list of requests.
import { busy, showProblem, wireHeader } from "./api.js";
import { steppedCall } from "./stepped-call.js";

wireHeader();
const account = document.getElementById("request").dataset.account;

for (const [id, decision, done] of [["approve-button", "approve", "approved"], ["decline-button", "decline", "declined"]]) {
  const button = document.getElementById(id);
  button.addEventListener("click", () => busy(button, async () => {
    const result = await steppedCall("POST", `/v1/people/${encodeURIComponent(account)}/${decision}`);
    if (!result) return;
    if (!result.ok) return showProblem(result);
    window.location.assign("/people/approvals?done=" + done);
  }));
}
