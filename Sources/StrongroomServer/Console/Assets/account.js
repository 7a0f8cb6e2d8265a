import { busy, call, showProblem, signOut, wireHeader } from "./api.js";

wireHeader();

for (const button of document.querySelectorAll("[data-end-session]")) {
  button.addEventListener("click", () => busy(button, async () => {
    // Ending this browser's own session is signing out.
    if (button.dataset.current === "true") return signOut();
    const id = button.dataset.endSession;
    const result = await call("DELETE", "/v1/sessions/" + encodeURIComponent(id), undefined, { session: true });
    if (!result.ok) return showProblem(result);
    document.querySelector(`tr[data-session="${CSS.escape(id)}"]`)?.remove();
  }));
}

const everywhere = document.getElementById("sign-out-everywhere");
everywhere.addEventListener("click", () => busy(everywhere, async () => {
  const result = await call("DELETE", "/v1/sessions", undefined, { session: true });
  if (!result.ok) return showProblem(result);
  window.location.assign("/sign-in");
}));

const button = document.getElementById("sign-out");
button.addEventListener("click", () => busy(button, signOut));
