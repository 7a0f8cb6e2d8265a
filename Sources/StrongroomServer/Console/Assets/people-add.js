// "Check before adding this person": adds them, then shows their enrolment link once.
import { busy, showProblem, wireHeader } from "./api.js";
import { steppedCall } from "./stepped-call.js";

wireHeader();
const details = document.getElementById("new-person").dataset;
const button = document.getElementById("add-button");

button.addEventListener("click", () => busy(button, async () => {
  const result = await steppedCall("POST", "/v1/people", {
    name: details.name, role: details.role, schools: details.schools.split(" ").filter(Boolean),
    ...(details.email ? { email: details.email } : {}),
  });
  if (!result) return;
  if (!result.ok) return showProblem(result);
  document.getElementById("check").hidden = true;
  document.getElementById("added").hidden = false;
  document.getElementById("added-waiting").hidden = !result.data.waitsForApproval;
  // The link holds the token: it is put in the page once and kept nowhere else.
  document.getElementById("enrolment-link").value = window.location.origin + result.data.enrolmentPath;
  document.getElementById("added-title").focus();
}));
