// The attach page: files chosen or dropped, a kind for each, then each streamed to the vault in
// turn with its progress, and what became of it in words.
import { busy, clearErrors, sessionToken, showErrors, wireHeader } from "./api.js";
import { refusalText, sizeText, storedTypeName } from "./attach-words.js";
import { uploadFile } from "./attach-upload.js";

wireHeader();

const ids = document.getElementById("concern-ids").dataset;
const input = document.getElementById("files");
const dropZone = document.getElementById("drop-zone");
const list = document.getElementById("file-list");
const chosen = document.getElementById("chosen");
const template = document.getElementById("file-template");
const attachButton = document.getElementById("attach-button");
let entries = [];
let counter = 0;

function add(files) {
  document.getElementById("chosen-heading").textContent = "Files to attach";
  for (const file of files) {
    const number = counter++;
    const item = template.content.firstElementChild.cloneNode(true);
    const select = item.querySelector("[data-kind]");
    select.id = `kind-${number}`;
    item.querySelector("[data-kind-label]").htmlFor = select.id;
    item.querySelector("[data-kind-label]").textContent = `What is ${file.name}?`;
    item.querySelector("[data-kind-group]").id = `kind-${number}-group`;
    item.querySelector("[data-kind-error]").id = `kind-${number}-error`;
    item.querySelector("[data-file-name]").textContent = file.name;
    item.querySelector("[data-file-size]").textContent = `(${sizeText(file.size)})`;
    item.querySelector("[data-remove-name]").textContent = " " + file.name;
    const entry = { file, item, select, done: false };
    item.querySelector("[data-remove]").addEventListener("click", () => {
      entries = entries.filter((e) => e !== entry);
      item.remove();
      refresh();
      input.focus();
    });
    entries.push(entry);
    list.append(item);
  }
  refresh();
}

function pending() {
  return entries.filter((e) => !e.done);
}

function refresh() {
  chosen.hidden = entries.length === 0;
  const count = pending().length;
  attachButton.textContent = count === 1 ? "Attach 1 file" : `Attach ${count} files`;
  attachButton.hidden = count === 0;
}

input.addEventListener("change", () => {
  add(input.files);
  // The list keeps the files; the chooser is emptied so the same file can be chosen again.
  input.value = "";
});

for (const name of ["dragenter", "dragover"]) {
  dropZone.addEventListener(name, (event) => {
    event.preventDefault();
    dropZone.classList.add("drop-zone--over");
  });
}
for (const name of ["dragleave", "drop"]) {
  dropZone.addEventListener(name, () => dropZone.classList.remove("drop-zone--over"));
}
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer?.files?.length) add(event.dataTransfer.files);
});

document.getElementById("clear-button").addEventListener("click", () => {
  entries = [];
  list.replaceChildren();
  clearErrors();
  refresh();
  input.focus();
});

function showOutcome(entry, text, stored) {
  const outcome = entry.item.querySelector("[data-outcome]");
  outcome.textContent = text;
  outcome.className = "file-item__outcome " + (stored ? "file-item__outcome--stored" : "file-item__outcome--refused");
  entry.item.classList.add(stored ? "file-item--stored" : "file-item--refused");
}

async function send(entry, csrfToken) {
  const area = entry.item.querySelector("[data-progress-area]");
  const bar = entry.item.querySelector("[data-progress]");
  const percent = entry.item.querySelector("[data-percent]");
  area.hidden = false;
  bar.setAttribute("aria-label", `Sending ${entry.file.name}`);
  entry.select.disabled = true;
  entry.item.querySelector("[data-remove]").hidden = true;
  const result = await uploadFile(entry.file, {
    school: ids.school, child: ids.child, concern: ids.concern, kind: entry.select.value, csrfToken,
    onProgress: (fraction) => {
      const value = Math.round(fraction * 100);
      bar.value = value;
      percent.textContent = `Sending: ${value}%`;
    },
  });
  area.hidden = true;
  entry.done = true;
  if (result.ok) {
    const record = result.record || {};
    showOutcome(entry, `Stored: ${storedTypeName(record.sniffedType)}, ${sizeText(record.size ?? entry.file.size)}`, true);
  } else {
    showOutcome(entry, refusalText(result, entry.file.name), false);
  }
  return result.ok;
}

document.getElementById("attach-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const waiting = pending();
  if (waiting.length === 0) return showErrors([{ text: "Choose a file to attach", field: "files" }]);
  const missing = waiting.filter((e) => !e.select.value);
  if (missing.length) {
    return showErrors(missing.map((e) => ({ text: `Choose what ${e.file.name} is`, field: e.select.id })));
  }
  clearErrors();
  busy(attachButton, async () => {
    const csrfToken = await sessionToken();
    if (!csrfToken) return window.location.assign("/sign-in?ended=1&next=" + encodeURIComponent(location.pathname + location.search));
    let stored = 0, refused = 0;
    // One at a time: each bar then moves at the connection's full speed, and the order is the list's.
    for (const entry of waiting) {
      if (await send(entry, csrfToken)) stored++; else refused++;
    }
    refresh();
    const parts = [];
    if (stored) parts.push(`${stored} file${stored === 1 ? "" : "s"} stored`);
    if (refused) parts.push(`${refused} file${refused === 1 ? "" : "s"} not stored`);
    document.getElementById("chosen-heading").textContent = "What happened to each file";
    document.getElementById("attach-outcome").textContent = parts.join(", ") + ".";
    document.getElementById("attach-done").hidden = false;
  });
});
