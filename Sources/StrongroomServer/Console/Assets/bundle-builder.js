// The bundle builder: the recipient and the reason, which records go and how, boxes drawn over
// images and PDF pages and words taken out of text, then the draft posted to /v1/bundles. What
// a redaction will look like is always Strongroom's own drawing (POST .../redaction-preview),
// never the browser's; terms are counted by Strongroom's own matcher (POST .../term-matches).
import { BoxEditor } from "./redaction-boxes.js";
import { busy, call, clearErrors, sessionToken, showErrors, wireHeader } from "./api.js";

wireHeader();
const form = document.getElementById("builder");
const school = form.dataset.school;
const rows = [...document.querySelectorAll(".builder-item")];
/** Per record: { boxes: [{x, y, width, height, page}], terms: [string], counts: [number] }. */
const choices = new Map(rows.map((row) => [row.dataset.record, { boxes: [], terms: [], counts: [] }]));

const panel = document.getElementById("redaction");
const boxesEditor = document.getElementById("redaction-boxes-editor");
const termsEditor = document.getElementById("redaction-terms-editor");
const image = document.getElementById("redaction-image");
const result = document.getElementById("redaction-result");
const resultStatus = document.getElementById("redaction-result-status");
let current = null; // { record, family, page, pages }
let imageURL = null;
let resultURL = null;
let restoring = false;

const editor = new BoxEditor(document.getElementById("redaction-svg"), (boxes) => {
  choices.get(current.record).boxes = boxes;
  listBoxes();
  resultStatus.textContent = "Choose Show it as it will be sent to see Strongroom's own redaction.";
  result.hidden = true;
});

function row(record) {
  return rows.find((r) => r.dataset.record === record);
}

function describe(record) {
  const r = row(record);
  return `${r.querySelector("[data-label=Kind]").firstChild.textContent.trim()} added ${r.querySelector("[data-label=Added]").textContent.trim()}`;
}

for (const r of rows) {
  const mode = r.querySelector(".item-mode");
  const include = r.querySelector(".item-include");
  const edit = r.querySelector(".item-edit");
  const update = () => {
    const redacting = mode.value === "redacted" && include.checked;
    if (edit) edit.hidden = !redacting || r.dataset.family === "office";
    r.querySelector(".item-original-warning").hidden = mode.value !== "original" || !include.checked;
    const confirm = r.querySelector(".item-confirm-block");
    if (confirm) confirm.hidden = mode.value === "redacted";
    if (!redacting && current && current.record === r.dataset.record) closeEditor();
  };
  mode.addEventListener("change", () => {
    update();
    if (mode.value === "redacted" && edit && !restoring) openEditor(r.dataset.record, r.dataset.family);
  });
  include.addEventListener("change", update);
  if (edit) edit.addEventListener("click", () => openEditor(r.dataset.record, r.dataset.family));
  update();
}

// All of one concern's records, or every record: ticks the rows to match (each can still be changed).
const concernFilter = document.getElementById("concern-filter");
if (concernFilter) {
  concernFilter.addEventListener("change", () => {
    for (const r of rows) {
      const include = r.querySelector(".item-include");
      include.checked = !concernFilter.value || r.dataset.concern === concernFilter.value;
      include.dispatchEvent(new Event("change"));
    }
  });
}

async function openEditor(record, family) {
  current = { record, family, page: 1, pages: 1 };
  panel.hidden = false;
  document.getElementById("redaction-which").textContent = `The ${describe(record)}.`;
  const heading = document.getElementById("redaction-heading");
  boxesEditor.hidden = family === "text";
  termsEditor.hidden = family !== "text";
  if (family === "text") {
    await countTerms();
  } else {
    await showPage();
    listBoxes();
  }
  heading.focus();
}

function closeEditor() {
  current = null;
  panel.hidden = true;
}

async function showPage() {
  const { record, page } = current;
  result.hidden = true;
  resultStatus.textContent = "Choose Show it as it will be sent to see Strongroom's own redaction.";
  let response;
  try {
    response = await fetch(`/v1/attachments/${encodeURIComponent(record)}/preview?page=${page}`, { credentials: "same-origin", cache: "no-store" });
  } catch {
    return showErrors([{ text: "The preview could not be loaded. Check your connection and try again." }]);
  }
  if (!response.ok) return showErrors([{ text: "Strongroom could not show this record to draw on. Choose another way for it to go." }]);
  const space = (response.headers.get("Strongroom-Rectangle-Space") || "").split(" ");
  const width = parseFloat(space[0]), height = parseFloat(space[1]);
  if (!(width > 0 && height > 0)) return showErrors([{ text: "Strongroom could not measure this record to draw on it." }]);
  current.pages = Math.max(1, parseInt(response.headers.get("Strongroom-Preview-Pages") || "1", 10) || 1);
  if (imageURL) URL.revokeObjectURL(imageURL);
  imageURL = URL.createObjectURL(await response.blob());
  image.src = imageURL;
  image.alt = current.pages > 1 ? `Page ${page} of ${current.pages}, to draw boxes on` : "The picture, to draw boxes on";
  editor.show(width, height, page, choices.get(record).boxes);
  const nav = document.getElementById("redaction-pages");
  nav.hidden = current.pages < 2;
  document.getElementById("redaction-page-text").textContent = `Page ${page} of ${current.pages}`;
  document.getElementById("redaction-previous").disabled = page <= 1;
  document.getElementById("redaction-next").disabled = page >= current.pages;
}

function turn(by) {
  current.page = Math.min(Math.max(1, current.page + by), current.pages);
  return showPage();
}
document.getElementById("redaction-previous").addEventListener("click", () => turn(-1));
document.getElementById("redaction-next").addEventListener("click", () => turn(1));
document.getElementById("redaction-add").addEventListener("click", () => editor.add());
document.getElementById("redaction-done").addEventListener("click", () => {
  const record = current.record;
  closeEditor();
  row(record).querySelector(".item-edit")?.focus();
});

function listBoxes() {
  const list = document.getElementById("redaction-list");
  const boxes = choices.get(current.record).boxes;
  document.getElementById("redaction-none").hidden = boxes.length > 0;
  list.replaceChildren(...boxes.map((box, index) => {
    const item = document.createElement("li");
    item.className = "redaction__list-item";
    const words = document.createElement("span");
    words.textContent = current.family === "pdf" ? `Box ${index + 1}, on page ${box.page}` : `Box ${index + 1}`;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button";
    remove.textContent = `Remove box ${index + 1}`;
    remove.addEventListener("click", () => {
      const all = choices.get(current.record).boxes;
      all.splice(index, 1);
      editor.show(editor.width, editor.height, current.page, all);
      listBoxes();
    });
    item.append(words, " ", remove);
    return item;
  }));
}

/** A record's boxes as the API takes them: pixels, or points with the page. */
function rects(record, family) {
  return choices.get(record).boxes.map((b) => {
    const r = [b.x, b.y, b.width, b.height].map((n) => Math.round(n * 10) / 10);
    return family === "pdf" ? [...r, b.page] : r;
  });
}

document.getElementById("redaction-show").addEventListener("click", (event) => busy(event.currentTarget, async () => {
  const { record, family, page } = current;
  if (!choices.get(record).boxes.length) {
    return showErrors([{ text: "Draw at least one box first." }]);
  }
  clearErrors();
  resultStatus.textContent = "Strongroom is making it…";
  const token = await sessionToken();
  let response;
  try {
    response = await fetch(`/v1/attachments/${encodeURIComponent(record)}/redaction-preview?page=${page}`, {
      method: "POST", credentials: "same-origin", cache: "no-store",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": token || "" },
      body: JSON.stringify({ mode: "redacted", rects: rects(record, family) }),
    });
  } catch {
    resultStatus.textContent = "";
    return showErrors([{ text: "Strongroom could not be reached. Check your connection and try again." }]);
  }
  if (!response.ok) {
    const problem = await response.json().catch(() => null);
    resultStatus.textContent = "";
    return showErrors([{ text: problem && problem.detail ? `This cannot be sent as drawn: ${problem.detail}.` : "Strongroom could not make it. Try again." }]);
  }
  if (resultURL) URL.revokeObjectURL(resultURL);
  resultURL = URL.createObjectURL(await response.blob());
  result.src = resultURL;
  result.alt = current.pages > 1 ? `Page ${page} as it will be sent, drawn by Strongroom` : "The picture as it will be sent, drawn by Strongroom";
  result.hidden = false;
  resultStatus.textContent = "This is exactly what will be sent.";
}));

// Text: words to take out, counted by Strongroom.
const termInput = document.getElementById("term");
document.getElementById("term-add").addEventListener("click", (event) => busy(event.currentTarget, addTerm));
termInput.addEventListener("keydown", (event) => {
  if (event.key === "Enter") {
    event.preventDefault();
    addTerm();
  }
});

async function addTerm() {
  const term = termInput.value.trim();
  if (!term) return showErrors([{ text: "Enter a word or name to take out", field: "term" }]);
  const chosen = choices.get(current.record);
  if (chosen.terms.some((t) => t.toLowerCase() === term.toLowerCase())) {
    return showErrors([{ text: "That is already in the list", field: "term" }]);
  }
  chosen.terms.push(term);
  termInput.value = "";
  await countTerms();
}

async function countTerms() {
  const { record } = current;
  const chosen = choices.get(record);
  const text = document.getElementById("term-text");
  if (!chosen.terms.length) {
    chosen.counts = [];
    listTerms();
    const response = await fetch(`/v1/attachments/${encodeURIComponent(record)}/preview`, { credentials: "same-origin", cache: "no-store" });
    text.textContent = response.ok ? await response.text() : "";
    return;
  }
  const answer = await call("POST", `/v1/attachments/${encodeURIComponent(record)}/term-matches`, { terms: chosen.terms }, { session: true });
  if (!answer.ok) {
    chosen.terms.pop();
    return showErrors([{ text: answer.message, field: "term" }]);
  }
  clearErrors();
  chosen.counts = answer.data.counts;
  listTerms();
  text.replaceChildren(...answer.data.runs.map((run) => {
    if (!run.matched) return document.createTextNode(run.text);
    const mark = document.createElement("mark");
    mark.className = "redaction__match";
    mark.textContent = run.text;
    return mark;
  }));
}

function listTerms() {
  const chosen = choices.get(current.record);
  const list = document.getElementById("term-list");
  list.replaceChildren(...chosen.terms.map((term, index) => {
    const item = document.createElement("li");
    item.className = "redaction__list-item";
    const words = document.createElement("span");
    words.textContent = `“${term}” `;
    const count = document.createElement("strong");
    const found = chosen.counts[index] ?? 0;
    count.className = found ? "tag tag--live" : "tag tag--returned";
    count.textContent = found ? `found ${found} time${found === 1 ? "" : "s"}` : "not found: check the spelling";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link-button";
    remove.textContent = `Remove “${term}”`;
    remove.addEventListener("click", async () => {
      chosen.terms.splice(index, 1);
      chosen.counts.splice(index, 1);
      await countTerms();
    });
    item.append(words, count, " ", remove);
    return item;
  }));
}

// Saving the draft.
form.addEventListener("submit", (event) => {
  event.preventDefault();
  busy(document.getElementById("save-draft"), save);
});

function collect() {
  const errors = [];
  const recipient = document.getElementById("recipient").value;
  const reason = document.getElementById("reason").value.trim();
  if (!recipient) errors.push({ text: "Choose who the bundle is for", field: "recipient" });
  if (!reason) errors.push({ text: "Say why the records are being shared", field: "reason" });
  const items = [];
  for (const r of rows) {
    if (!r.querySelector(".item-include").checked) continue;
    const record = r.dataset.record, family = r.dataset.family;
    const mode = r.querySelector(".item-mode").value;
    const what = describe(record);
    const item = { record, mode };
    const confirm = r.querySelector(".item-confirm");
    if (confirm && mode !== "redacted") {
      if (!confirm.checked) errors.push({ text: `Confirm the ${what} may hold tracked changes and comments, or choose another way`, field: confirm.id });
      item.confirm = true;
    }
    if (mode === "redacted" && (family === "image" || family === "pdf")) {
      item.rects = rects(record, family);
      if (!item.rects.length) errors.push({ text: `Draw at least one box on the ${what}, or send it another way`, field: r.querySelector(".item-mode").id });
    }
    if (mode === "redacted" && family === "text") {
      const chosen = choices.get(record);
      item.terms = chosen.terms;
      if (!chosen.terms.length) errors.push({ text: `Add the words to take out of the ${what}, or send it another way`, field: r.querySelector(".item-mode").id });
      chosen.counts.forEach((n, i) => {
        if (!n) errors.push({ text: `“${chosen.terms[i]}” is not in the ${what}: check the spelling or remove it`, field: r.querySelector(".item-mode").id });
      });
    }
    items.push(item);
  }
  if (rows.length && !items.length) errors.push({ text: "Include at least one record", field: rows[0].querySelector(".item-include").id });
  return { errors, body: { school, recipient, reason, items } };
}

async function save() {
  const { errors, body } = collect();
  if (errors.length) return showErrors(errors);
  const answer = await call("POST", "/v1/bundles", body, { session: true });
  if (!answer.ok) return showErrors([{ text: answer.message }]);
  window.location.assign(`/bundles/${encodeURIComponent(answer.data.id)}`);
}

// Starting again from a draft that was sent back: its recipient, reason and choices.
async function startFrom(id) {
  const answer = await call("GET", `/v1/bundles/${encodeURIComponent(id)}`);
  if (!answer.ok || !answer.data.choices) return;
  document.getElementById("recipient").value = answer.data.recipient;
  document.getElementById("reason").value = answer.data.reason;
  const chosen = new Map(answer.data.choices.map((c) => [c.record, c]));
  restoring = true;
  for (const r of rows) {
    const choice = chosen.get(r.dataset.record);
    r.querySelector(".item-include").checked = Boolean(choice);
    if (!choice) continue;
    r.querySelector(".item-mode").value = choice.mode;
    const confirm = r.querySelector(".item-confirm");
    if (confirm && choice.confirm) confirm.checked = true;
    const state = choices.get(r.dataset.record);
    state.boxes = (choice.rects || []).map((q) => ({ x: q[0], y: q[1], width: q[2], height: q[3], page: q[4] || 1 }));
    state.terms = choice.terms || [];
    state.counts = state.terms.map(() => 1);
    r.querySelector(".item-mode").dispatchEvent(new Event("change"));
  }
  restoring = false;
}
if (form.dataset.from) startFrom(form.dataset.from);
