// The retention review: select records due, give a reason, check the answers, then ask for a
// shred (POST /v1/shred-requests with the CSRF token). Another person approves it later.
import { busy, call, clearErrors, showErrors, showProblem, wireHeader } from "./api.js";

wireHeader();
const form = document.getElementById("shred-form");
const check = document.getElementById("check");
const continueButton = document.getElementById("shred-continue");

function selected() {
  return [...form.querySelectorAll("input[name=records]:checked")];
}

function cell(text) {
  const td = document.createElement("td");
  td.className = "table__cell";
  td.textContent = text;
  return td;
}

if (form && continueButton) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const boxes = selected();
    const reason = document.getElementById("reason").value.trim();
    const errors = [];
    if (boxes.length === 0) errors.push({ text: "Select at least one record to shred", field: firstBox() });
    if (!reason) errors.push({ text: "Enter why these records can be shredded", field: "reason" });
    if (errors.length) return showErrors(errors);
    clearErrors();
    document.getElementById("check-reason").textContent = reason;
    document.getElementById("check-count").textContent = boxes.length === 1 ? "1 record" : `${boxes.length} records`;
    const body = document.querySelector("#check-records tbody");
    body.replaceChildren(...boxes.map((box) => {
      const row = document.createElement("tr");
      row.className = "table__row";
      row.append(cell(box.dataset.child), cell(box.dataset.kind), cell(box.dataset.review));
      return row;
    }));
    form.hidden = true;
    check.hidden = false;
    document.getElementById("check-heading").focus();
  });

  document.getElementById("shred-change").addEventListener("click", () => {
    check.hidden = true;
    form.hidden = false;
    continueButton.focus();
  });

  const ask = document.getElementById("shred-ask");
  ask.addEventListener("click", () => busy(ask, async () => {
    const records = selected().map((box) => box.value);
    const reason = document.getElementById("reason").value.trim();
    const result = await call("POST", "/v1/shred-requests", { school: form.dataset.school, records, reason }, { session: true });
    if (!result.ok) return showProblem(result);
    window.location.assign("/retention/requests");
  }));
}

function firstBox() {
  const box = form.querySelector("input[name=records]");
  return box ? box.id : undefined;
}
