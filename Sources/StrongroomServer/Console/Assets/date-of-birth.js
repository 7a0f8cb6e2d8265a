// A child's date of birth: first the review dates it would set (GET .../dob/preview, which
// saves nothing), then, once checked, the save (PUT .../dob with the CSRF token).
import { busy, call, clearErrors, showErrors, showProblem, wireHeader } from "./api.js";
import { dayText } from "./step-up.js";

wireHeader();
const form = document.getElementById("dob-form");
const check = document.getElementById("dob-check");
const child = encodeURIComponent(form.dataset.child);
const school = encodeURIComponent(form.dataset.school);
let checkedDate = null;

function cell(text) {
  const td = document.createElement("td");
  td.className = "table__cell";
  td.textContent = text;
  return td;
}

function kindText(kind) {
  return { "body-map": "Body map", disclosure: "Disclosure", document: "Document", minutes: "Minutes" }[kind] || kind;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const dob = document.getElementById("dob").value.trim();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(dob)) return showErrors([{ text: "Enter the date of birth, for example 2012-03-27", field: "dob" }]);
  busy(document.getElementById("dob-continue"), async () => {
    const result = await call("GET", `/v1/children/${child}/dob/preview?school=${school}&dob=${encodeURIComponent(dob)}`);
    if (!result.ok) return showProblem(result, "dob");
    clearErrors();
    checkedDate = dob;
    const records = result.data.records;
    document.getElementById("dob-check-date").textContent = dayText(dob);
    document.getElementById("dob-check-count").textContent = records.length === 1 ? "1 record" : `${records.length} records`;
    document.querySelector("#dob-changes tbody").replaceChildren(...records.map((r) => {
      const row = document.createElement("tr");
      row.className = "table__row";
      row.append(cell(kindText(r.kind)), cell(dayText(r.createdAt)), cell(dayText(r.reviewOn)), cell(dayText(r.newReviewOn)));
      return row;
    }));
    form.hidden = true;
    document.getElementById("dob-saved").hidden = true;
    check.hidden = false;
    document.getElementById("dob-check-heading").focus();
  });
});

document.getElementById("dob-change").addEventListener("click", () => {
  check.hidden = true;
  form.hidden = false;
  document.getElementById("dob").focus();
});

const save = document.getElementById("dob-save");
save.addEventListener("click", () => busy(save, async () => {
  const result = await call("PUT", `/v1/children/${child}/dob?school=${school}`, { dob: checkedDate }, { session: true });
  if (!result.ok) return showProblem(result);
  const n = result.data.records;
  document.getElementById("dob-saved-text").textContent =
    `Date of birth saved: ${dayText(checkedDate)}. ${n === 1 ? "1 record has a new review date" : `${n} records have new review dates`}.`;
  check.hidden = true;
  form.hidden = false;
  document.getElementById("dob-saved").hidden = false;
  document.getElementById("dob").focus();
}));
