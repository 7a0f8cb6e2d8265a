// The directory of schools: adding another school's card once the fingerprint its DSL read out
// matches (typed here, never taken from the card: the comparison is the point), accepting a
// changed card (a DSL, who confirms they checked it by telephone), and the rule for the school's
// copies after a receipt. Each needs a second factor given in the last few minutes.
import { busy, call, clearErrors, showErrors, wireHeader } from "./api.js";
import { withStepUp } from "./step-up.js";

wireHeader();
const here = window.location.pathname + window.location.search;
const form = document.getElementById("add-school");
const school = form.dataset.school;
let pending = null;

async function readCard() {
  const file = document.getElementById("card-file").files[0];
  if (!file) return { error: { text: "Choose the other school's card file", field: "card-file" } };
  if (file.size > 64 * 1024) return { error: { text: "A school's card is a small file: this one is too large", field: "card-file" } };
  try {
    const card = JSON.parse(await file.text());
    if (card && typeof card === "object" && typeof card.school === "string") return { card };
  } catch {
    // Not JSON: said below.
  }
  return { error: { text: "This file is not a school's card", field: "card-file" } };
}

async function add(replace) {
  const body = { school, card: pending.card, fingerprint: pending.fingerprint };
  if (replace) body.replace = true;
  const answer = await call("POST", "/v1/schools", body, { session: true });
  if (answer.ok) {
    window.location.assign(here);
    return;
  }
  // A school already listed whose card differs: its keys or name changed (a mismatched
  // fingerprint is refused the same way, for a school not listed yet).
  const known = form.dataset.known.split(" ").filter(Boolean);
  if (answer.status === 409 && !replace && known.includes(pending.card.school) && !/does not match/i.test(answer.message)) {
    document.getElementById("changed-card").hidden = false;
    document.getElementById("add-school-button").hidden = true;
    return showErrors([{ text: "The card of school " + pending.card.school + " has changed since it was added. " + answer.message }]);
  }
  const field = answer.status === 409 || answer.status === 400 ? "fingerprint" : undefined;
  showErrors([{ text: answer.message, field }]);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(document.getElementById("add-school-button"), async () => {
    const { card, error } = await readCard();
    const fingerprint = document.getElementById("fingerprint").value.trim();
    const errors = error ? [error] : [];
    if ((fingerprint.match(/[0-9]/g) || []).length !== 30) {
      errors.push({ text: "Type the 30 digits of the fingerprint their designated safeguarding lead read out", field: "fingerprint" });
    }
    if (errors.length) return showErrors(errors);
    clearErrors();
    pending = { card, fingerprint };
    await withStepUp(here, () => add(false));
  });
});

const accept = document.getElementById("accept-card");
if (accept) {
  accept.addEventListener("click", () => {
    if (!document.getElementById("replace-sure").checked) {
      return showErrors([{ text: "Confirm you checked the new fingerprint by telephone", field: "replace-sure" }]);
    }
    busy(accept, () => withStepUp(here, () => add(true)));
  });
}

const ruleForm = document.getElementById("rule-form");
if (ruleForm) {
  ruleForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const rule = ruleForm.querySelector("input[name=rule]:checked")?.value;
    if (!rule) return showErrors([{ text: "Choose what happens to your school's copies", field: "rule" }]);
    busy(document.getElementById("rule-button"), () => withStepUp(here, async () => {
      const answer = await call("PUT", "/v1/transfer-settings?school=" + encodeURIComponent(school), { afterReceipt: rule }, { session: true });
      if (!answer.ok) return showErrors([{ text: answer.message, field: "rule" }]);
      clearErrors();
      document.getElementById("rule-status").textContent = "Saved.";
    }));
  });
}
