// Legal holds: place one, ask for a release, approve another person's request. Each needs a
// second factor given in the last few minutes.
import { busy, call, showErrors, showProblem, wireHeader } from "./api.js";
import { secondsOfStepUpLeft } from "./api.js";
import { withStepUp } from "./step-up.js";

wireHeader();
const here = "/retention/holds";

// Confirming sends the person away and back, and a form filled in before it is lost: when the
// window is short or over, say so first, with a link to confirm before typing anything.
secondsOfStepUpLeft().then((left) => {
  if (left !== null && left < 60) document.getElementById("confirm-first").hidden = false;
}).catch(() => {});

const form = document.getElementById("hold-form");
form.addEventListener("submit", (event) => {
  event.preventDefault();
  const school = document.getElementById("hold-school").value;
  const scope = form.querySelector("input[name=scope]:checked").value;
  const target = document.getElementById("hold-target").value.trim();
  const reason = document.getElementById("hold-reason").value.trim();
  const errors = [];
  if (!target) errors.push({ text: "Enter the id of the child, concern or record to hold", field: "hold-target" });
  if (!reason) errors.push({ text: "Enter why the records must be kept", field: "hold-reason" });
  if (errors.length) return showErrors(errors);
  busy(document.getElementById("hold-place"), () => withStepUp(here, async () => {
    const result = await call("POST", "/v1/holds", { school, [scope]: target, reason }, { session: true });
    if (!result.ok) return showProblem(result, "hold-target");
    window.location.reload();
  }));
});

for (const release of document.querySelectorAll("form.release-form")) {
  release.addEventListener("submit", (event) => {
    event.preventDefault();
    const input = release.querySelector("input[name=reason]");
    const reason = input.value.trim();
    if (!reason) return showErrors([{ text: "Enter why the hold can be released", field: input.id }]);
    busy(release.querySelector("button"), () => withStepUp(here, async () => {
      const result = await call("DELETE", `/v1/holds/${encodeURIComponent(release.dataset.hold)}`, { reason }, { session: true });
      if (!result.ok) return showProblem(result, input.id);
      window.location.reload();
    }));
  });
}

for (const button of document.querySelectorAll("button.approve-release")) {
  button.addEventListener("click", () => busy(button, () => withStepUp(here, async () => {
    const result = await call("POST", `/v1/holds/${encodeURIComponent(button.dataset.hold)}/release/approve`, {}, { session: true });
    if (!result.ok) return showProblem(result);
    window.location.reload();
  })));
}
