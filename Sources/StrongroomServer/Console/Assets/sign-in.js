import { busy, call, clearErrors, safeNext, showErrors, showProblem } from "./api.js";
import { clearSecondFactor, wireSecondFactor } from "./second-factor.js";
import * as webauthn from "./webauthn.js";

const next = safeNext(document.getElementById("sign-in").dataset.next);
const form = document.getElementById("sign-in-form");
const readSecondFactor = wireSecondFactor();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = document.getElementById("name").value.trim();
  const passphrase = document.getElementById("passphrase").value;
  const errors = [];
  if (!name) errors.push({ text: "Enter your user name", field: "name" });
  if (!passphrase) errors.push({ text: "Enter your passphrase", field: "passphrase" });
  const factor = readSecondFactor();
  if (factor.error) errors.push(factor.error);
  if (errors.length) return showErrors(errors);
  await busy(document.getElementById("sign-in-button"), async () => {
    const result = await call("POST", "/v1/session", { name, passphrase, ...factor.body });
    if (result.ok) return window.location.assign(next);
    clearSecondFactor();
    showProblem(result);
  });
});

const passkeyButton = document.getElementById("passkey-sign-in");
passkeyButton.addEventListener("click", () => busy(passkeyButton, async () => {
  clearErrors();
  if (!webauthn.supported()) return showErrors([{ text: "This browser cannot use passkeys. Use your passphrase and app instead." }]);
  const begun = await call("POST", "/v1/session/passkey/begin");
  if (!begun.ok) return showProblem(begun);
  let body;
  try {
    body = await webauthn.get(begun.data);
  } catch (error) {
    return showErrors([{ text: webauthn.failureText(error) }]);
  }
  const finished = await call("POST", "/v1/session/passkey/finish", body);
  if (finished.ok) return window.location.assign(next);
  showProblem(finished);
}));
