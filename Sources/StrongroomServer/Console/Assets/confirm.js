import { busy, call, clearErrors, safeNext, showErrors, showProblem, wireHeader } from "./api.js";
import { clearSecondFactor, wireSecondFactor } from "./second-factor.js";
import * as webauthn from "./webauthn.js";

wireHeader();
const next = safeNext(document.getElementById("confirm").dataset.next);
const readSecondFactor = wireSecondFactor();

document.getElementById("confirm-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const factor = readSecondFactor();
  if (factor.error) return showErrors([factor.error]);
  await busy(document.getElementById("confirm-button"), async () => {
    const result = await call("POST", "/v1/session/step-up", factor.body, { session: true });
    if (result.ok) return window.location.assign(next);
    if (result.status === 401 && result.slug === "unauthenticated") return window.location.assign("/sign-in?ended=1");
    clearSecondFactor();
    showProblem(result, result.status === 429 ? undefined : factor.error?.field);
  });
});

const passkeyButton = document.getElementById("passkey-confirm");
passkeyButton.addEventListener("click", () => busy(passkeyButton, async () => {
  clearErrors();
  if (!webauthn.supported()) return showErrors([{ text: "This browser cannot use passkeys. Use a code from your app instead." }]);
  const begun = await call("POST", "/v1/session/step-up/passkey/begin", undefined, { session: true });
  if (!begun.ok) return showProblem(begun);
  let body;
  try {
    body = await webauthn.get(begun.data);
  } catch (error) {
    return showErrors([{ text: webauthn.failureText(error) }]);
  }
  const finished = await call("POST", "/v1/session/step-up/passkey/finish", body, { session: true });
  if (finished.ok) return window.location.assign(next);
  showProblem(finished);
}));
