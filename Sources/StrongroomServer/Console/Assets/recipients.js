// The recipients pages: add an agency to the school's directory, or remove one.
import { busy, call, showErrors, showProblem, wireHeader } from "./api.js";

wireHeader();

function directory(school, done) {
  return "/recipients?school=" + encodeURIComponent(school) + "&done=" + done;
}

const form = document.getElementById("add-recipient");
if (form) {
  const keyGroup = document.getElementById("recipient-key-group");
  for (const radio of form.querySelectorAll("input[name=lock]")) {
    radio.addEventListener("change", () => { keyGroup.hidden = !document.getElementById("lock-age").checked; });
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = document.getElementById("recipient-name").value.trim();
    const contact = document.getElementById("recipient-contact").value.trim();
    const lock = form.querySelector("input[name=lock]:checked")?.value;
    const key = document.getElementById("recipient-key").value.trim();
    const errors = [];
    if (!name) errors.push({ text: "Enter the name of the agency", field: "recipient-name" });
    if (!lock) errors.push({ text: "Choose how bundles for them will be locked", field: "recipient-lock" });
    if (lock === "age" && !/^age1[0-9a-z]{58}$/.test(key)) {
      errors.push({ text: "Enter their age public key: 62 characters starting age1", field: "recipient-key" });
    }
    if (errors.length) return showErrors(errors);
    const body = { school: form.dataset.school, name, contact };
    if (lock === "age") body.ageRecipient = key; else body.passphrase = true;
    busy(document.getElementById("add-recipient-button"), async () => {
      const result = await call("POST", "/v1/recipients", body, { session: true });
      if (!result.ok) return showProblem(result);
      window.location.assign(directory(form.dataset.school, "added"));
    });
  });
}

const removing = document.getElementById("recipient");
if (removing) {
  const button = document.getElementById("remove-recipient-button");
  button.addEventListener("click", () => busy(button, async () => {
    const { school, name } = removing.dataset;
    const result = await call("DELETE", `/v1/recipients?school=${encodeURIComponent(school)}&name=${encodeURIComponent(name)}`,
      undefined, { session: true });
    if (!result.ok) return showProblem(result);
    window.location.assign(directory(school, "removed"));
  }));
}
