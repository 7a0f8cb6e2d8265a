// The chronology page: a DSL or deputy names the child and titles the concerns. Each change is
// a PUT to the JSON routes with the session's CSRF token; the page is then drawn again.
import { busy, call, showErrors, showProblem, wireHeader } from "./api.js";

wireHeader();
const details = document.getElementById("child-details");
const child = encodeURIComponent(details.dataset.child);
const school = encodeURIComponent(details.dataset.school);

const labelForm = document.getElementById("label-form");
if (labelForm) {
  labelForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const label = document.getElementById("label").value.trim();
    if (!label) return showErrors([{ text: "Enter the name to show for this child", field: "label" }]);
    await busy(document.getElementById("label-save"), async () => {
      const result = await call("PUT", `/v1/children/${child}/label?school=${school}`, { label }, { session: true });
      if (!result.ok) return showProblem(result, "label");
      window.location.reload();
    });
  });
}

for (const form of document.querySelectorAll(".concern-form")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = form.querySelector("input[name=title]");
    const title = input.value.trim();
    const concern = form.dataset.concern;
    if (!title) return showErrors([{ text: `Enter a title for concern ${concern}`, field: input.id }]);
    await busy(form.querySelector("button"), async () => {
      const path = `/v1/concerns/${encodeURIComponent(concern)}/title?school=${school}`;
      const result = await call("PUT", path, { title }, { session: true });
      if (!result.ok) return showProblem(result, input.id);
      window.location.reload();
    });
  });
}
