// "Remove this person's access": revokes them, then back to the people list.
import { busy, showProblem, wireHeader } from "./api.js";
import { steppedCall } from "./stepped-call.js";

wireHeader();
const account = document.getElementById("person").dataset.account;
const button = document.getElementById("remove-button");

button.addEventListener("click", () => busy(button, async () => {
  const result = await steppedCall("DELETE", "/v1/people/" + encodeURIComponent(account));
  if (!result) return;
  if (!result.ok) return showProblem(result);
  window.location.assign("/people?done=removed");
}));
