import { busy, call, clearErrors, showErrors, showProblem } from "./api.js";
import * as webauthn from "./webauthn.js";

// The link's token is the last part of this page's address; it goes only to this service.
const token = window.location.pathname.split("/").pop();
const base = "/v1/enrolment/" + encodeURIComponent(token);

function show(step) {
  clearErrors();
  for (const section of document.querySelectorAll(".step")) section.hidden = section.id !== step;
  const heading = document.querySelector(`#${step} h1`);
  if (heading) {
    heading.tabIndex = -1;
    heading.focus();
  }
}

const passkeyButton = document.getElementById("passkey-enrol");
passkeyButton.addEventListener("click", () => busy(passkeyButton, async () => {
  clearErrors();
  if (!webauthn.supported()) {
    return showErrors([{ text: "This browser cannot set up a passkey. Use a passphrase and an app instead." }]);
  }
  const begun = await call("POST", base + "/passkey/begin");
  if (!begun.ok) return showProblem(begun);
  let body;
  try {
    body = await webauthn.create(begun.data);
  } catch (error) {
    return showErrors([{ text: webauthn.failureText(error) }]);
  }
  const finished = await call("POST", base + "/passkey/finish", body);
  if (!finished.ok) return showProblem(finished);
  show("step-passkey-done");
}));

document.getElementById("choose-app").addEventListener("click", () => show("step-passphrase"));
for (const back of document.querySelectorAll("[data-back-to-choice]")) back.addEventListener("click", () => show("step-choose"));

document.getElementById("passphrase-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const passphrase = document.getElementById("passphrase").value;
  const again = document.getElementById("confirmPassphrase").value;
  if (!passphrase) return showErrors([{ text: "Enter a passphrase", field: "passphrase" }]);
  if (passphrase.length < 12) return showErrors([{ text: "The passphrase must be at least 12 characters", field: "passphrase" }]);
  if (passphrase !== again) return showErrors([{ text: "The two passphrases are not the same", field: "confirmPassphrase" }]);
  const button = event.submitter || event.target.querySelector("button");
  await busy(button, async () => {
    const result = await call("POST", base + "/passphrase", { passphrase });
    if (!result.ok) return showProblem(result, result.status === 400 ? "passphrase" : undefined);
    document.getElementById("totp-secret").textContent = result.data.totpSecret.replace(/(.{4})(?=.)/g, "$1 ");
    // A fresh address each time, so a passphrase set again shows its new secret's code.
    document.getElementById("qr-code").src = result.data.qrCode + "?v=" + Date.now();
    show("step-app");
  });
});

document.getElementById("totp-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const code = document.getElementById("code").value.replace(/ /g, "");
  if (!code) return showErrors([{ text: "Enter the code from your authenticator app", field: "code" }]);
  if (!/^[0-9]{6}$/.test(code)) return showErrors([{ text: "The code must be 6 numbers, like 123456", field: "code" }]);
  const button = event.submitter || event.target.querySelector("button");
  await busy(button, async () => {
    const result = await call("POST", base + "/totp", { code });
    if (!result.ok) {
      document.getElementById("code").value = "";
      return showProblem(result, result.status === 400 ? "code" : undefined);
    }
    const list = document.getElementById("recovery-codes");
    list.replaceChildren(...result.data.recoveryCodes.map((text) => {
      const item = document.createElement("li");
      item.className = "recovery-codes__item";
      item.textContent = text;
      return item;
    }));
    // The secret and QR code are no longer needed on screen.
    document.getElementById("totp-secret").textContent = "";
    document.getElementById("qr-code").removeAttribute("src");
    show("step-codes");
  });
});

document.getElementById("codes-form").addEventListener("submit", (event) => {
  event.preventDefault();
  if (!document.getElementById("written").checked) {
    return showErrors([{ text: "Confirm you have written down your recovery codes", field: "written" }]);
  }
  window.location.assign("/sign-in");
});
