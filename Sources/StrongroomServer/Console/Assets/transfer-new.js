// Drafting a transfer: choose the receiving school and a reason, check what will travel, then
// make the draft (POST /v1/transfers). Nothing is sent until a second DSL or deputy approves it.
import { busy, call, clearErrors, showErrors, wireHeader } from "./api.js";

wireHeader();
const root = document.getElementById("transfer-new");
if (root) {
  const form = document.getElementById("choose-form");
  const check = document.getElementById("check-section");
  let chosen = null, reason = "";

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    chosen = form.querySelector("input[name=toSchool]:checked");
    reason = document.getElementById("reason").value.trim();
    const errors = [];
    if (!chosen) errors.push({ text: "Choose the school the child is moving to", field: "to-school" });
    if (!reason) errors.push({ text: "Say why the file is going to this school", field: "reason" });
    if (errors.length) return showErrors(errors);
    clearErrors();
    document.getElementById("check-school").textContent = chosen.dataset.name;
    document.getElementById("check-school-id").textContent = chosen.value;
    document.getElementById("check-fingerprint").textContent = chosen.dataset.fingerprint;
    document.getElementById("check-reason").textContent = reason;
    form.hidden = true;
    check.hidden = false;
    document.getElementById("check-heading").focus();
  });

  document.getElementById("change-answers").addEventListener("click", () => {
    check.hidden = true;
    form.hidden = false;
    document.getElementById("reason").focus();
  });

  const draft = document.getElementById("draft-transfer");
  draft.addEventListener("click", () => busy(draft, async () => {
    const body = { school: root.dataset.school, child: root.dataset.child, toSchool: chosen.value, reason };
    const answer = await call("POST", "/v1/transfers", body, { session: true });
    if (!answer.ok) return showErrors([{ text: answer.message }]);
    window.location.assign("/transfers/" + encodeURIComponent(answer.data.id));
  }));
}
