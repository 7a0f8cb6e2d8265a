// The body-map editor: marks (a point, or an area drawn by clicks) with a note, a colour and a
// size, listed in a table where each can be changed or removed; saved with POST /v1/body-maps.
import { busy, call, clearErrors, showErrors, showProblem, wireHeader } from "./api.js";
import { loadOutline, nearest, regions } from "./body-map-outline.js";
import { Drawings } from "./body-map-drawing.js";

wireHeader();

// The limits of POST /v1/body-maps.
const maxMarks = 50, maxAreaPoints = 50, maxNote = 500;

const ids = document.getElementById("concern-ids").dataset;
const form = document.getElementById("mark-form");
const placeText = document.getElementById("place");
const instructions = document.getElementById("place-instructions");
const areaButtons = document.getElementById("area-buttons");
const note = document.getElementById("note");
const size = document.getElementById("size");
const addButton = document.getElementById("add-mark");
const cancelButton = document.getElementById("cancel-edit");
const regionSide = document.getElementById("region-side");
const regionList = document.getElementById("region");

let marks = [];
let pending = null; // { side, shape, points, closed, where }
let editing = null; // the index of the mark being changed

const outline = await loadOutline();
if (!outline) {
  showErrors([{ text: "The drawing of the body could not be loaded. Reload the page to try again" }]);
  throw new Error("no outline");
}
const drawings = new Drawings(document.querySelectorAll(".body-map__drawing"), outline, {
  onPlace: place,
  onCross: (side, region) => {
    instructions.textContent = `Cross on the ${side}, near: ${region.name.toLowerCase()}. Press Enter to mark here.`;
  },
});

function shape() {
  return form.querySelector("input[name=shape]:checked").value;
}

/** A position as the vault takes it: a fraction from 0 to 1, to four places. */
function fraction(value) {
  return Math.min(1, Math.max(0, Math.round(value * 10000) / 10000));
}

function where(mark) {
  const [fx, fy] = mark.shape === "point" ? mark.points[0]
    : [mark.points.reduce((s, p) => s + p[0], 0) / mark.points.length, mark.points.reduce((s, p) => s + p[1], 0) / mark.points.length];
  const region = nearest(mark.side, fx, fy, outline.aspect);
  const what = mark.shape === "point" ? "A point" : `An area (${mark.points.length} corners)`;
  return `${what} on the ${mark.side}, near: ${region.name.toLowerCase()}`;
}

function instruct() {
  const area = shape() === "area";
  areaButtons.hidden = !area || editing !== null;
  if (editing !== null) {
    instructions.textContent = "To move a mark, remove it and add it again.";
  } else if (area) {
    const count = pending && pending.shape === "area" ? pending.points.length : 0;
    instructions.textContent = count === 0
      ? "Click round the edge of the area on the drawing, one corner at a time. Then choose \"Finish area\"."
      : `${count} corner${count === 1 ? "" : "s"} so far. Add more, or choose "Finish area" (at least 3).`;
  } else {
    instructions.textContent = "Click on the drawing where you saw the injury.";
  }
}

function showPlace() {
  if (editing !== null) placeText.textContent = "Place: " + where(marks[editing]) + ".";
  else if (pending && (pending.shape === "point" || pending.closed)) placeText.textContent = "Place chosen: " + where(pending) + ".";
  else if (pending) placeText.textContent = "Drawing an area on the " + pending.side + ".";
  else placeText.textContent = "No place chosen yet.";
  drawings.draw(marks, editing === null ? pending : null);
}

function place(side, x, y) {
  if (editing !== null) return;
  const point = [fraction(x), fraction(y)];
  if (shape() === "point") {
    pending = { side, shape: "point", points: [point] };
  } else {
    // An area stays on one side: a click on the other drawing starts a new one there.
    if (!pending || pending.shape !== "area" || pending.side !== side || pending.closed) pending = { side, shape: "area", points: [] };
    if (pending.points.length >= maxAreaPoints) {
      return showErrors([{ text: `An area can have up to ${maxAreaPoints} corners. Choose "Finish area"`, field: "place" }]);
    }
    pending.points.push(point);
  }
  instruct();
  showPlace();
}

document.getElementById("finish-area").addEventListener("click", () => {
  if (!pending || pending.shape !== "area" || pending.points.length < 3) {
    return showErrors([{ text: "Click at least 3 corners of the area on the drawing, then choose \"Finish area\"", field: "place" }]);
  }
  clearErrors();
  pending.closed = true;
  instruct();
  showPlace();
  note.focus();
});

document.getElementById("restart-area").addEventListener("click", () => {
  pending = null;
  instruct();
  showPlace();
});

for (const radio of form.querySelectorAll("input[name=shape]")) {
  radio.addEventListener("change", () => {
    if (pending && pending.shape !== shape()) pending = null;
    instruct();
    showPlace();
  });
}

function fillRegions() {
  regionList.replaceChildren(...regions(regionSide.value).map((region) => {
    const option = document.createElement("option");
    option.value = region.id;
    option.textContent = region.name;
    return option;
  }));
}
regionSide.addEventListener("change", fillRegions);
fillRegions();

document.getElementById("place-from-list").addEventListener("click", () => {
  const side = regionSide.value;
  const region = regions(side).find((r) => r.id === regionList.value);
  if (!region || editing !== null) return;
  // A place from the list is a point: an area needs its corners drawn.
  form.querySelector("#shape-point").checked = true;
  pending = { side, shape: "point", points: [[region.x, region.y]] };
  instruct();
  showPlace();
  note.focus();
});

function chosenColour() {
  return form.querySelector("input[name=colour]:checked")?.value || "";
}

function readDetails() {
  const errors = [];
  const text = note.value.trim();
  if (!text) errors.push({ text: "Enter what you saw", field: "note" });
  else if (text.length > maxNote) errors.push({ text: `What you saw must be ${maxNote} characters or fewer`, field: "note" });
  if (!chosenColour()) errors.push({ text: "Choose a colour for the mark", field: "colour" });
  if (!size.value) errors.push({ text: "Choose a size", field: "size" });
  return { errors, note: text, colour: chosenColour(), size: parseInt(size.value, 10) };
}

function resetDetails() {
  note.value = "";
  size.value = "";
  for (const radio of form.querySelectorAll("input[name=colour]")) radio.checked = false;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const details = readDetails();
  const errors = [];
  if (editing === null) {
    if (!pending) errors.push({ text: "Choose where the mark goes: click on the drawing, or use \"Mark without a mouse\"", field: "place" });
    else if (pending.shape === "area" && !pending.closed) errors.push({ text: "Finish the area first: choose \"Finish area\"", field: "place" });
    else if (marks.length >= maxMarks) errors.push({ text: `A body map can have up to ${maxMarks} marks. Save this one and start another` });
  }
  errors.push(...details.errors);
  if (errors.length) return showErrors(errors);
  clearErrors();
  const fields = { colour: details.colour, size: details.size, note: details.note };
  let said;
  if (editing !== null) {
    Object.assign(marks[editing], fields);
    said = `Mark ${editing + 1} changed.`;
    editing = null;
  } else {
    marks.push({ side: pending.side, shape: pending.shape, points: pending.points, ...fields });
    pending = null;
    said = `Mark ${marks.length} added.`;
  }
  resetDetails();
  endEditing();
  render(said);
});

function endEditing() {
  editing = null;
  document.getElementById("mark-heading").textContent = "Add a mark";
  addButton.textContent = "Add mark";
  cancelButton.hidden = true;
  instruct();
}

cancelButton.addEventListener("click", () => {
  resetDetails();
  clearErrors();
  endEditing();
  render("");
});

function startEditing(index) {
  editing = index;
  const mark = marks[index];
  note.value = mark.note;
  size.value = String(mark.size);
  form.querySelector(`#colour-${mark.colour}`).checked = true;
  document.getElementById("mark-heading").textContent = `Change mark ${index + 1}`;
  addButton.textContent = `Save changes to mark ${index + 1}`;
  cancelButton.hidden = false;
  clearErrors();
  instruct();
  showPlace();
  form.scrollIntoView({ block: "start" });
  note.focus();
}

function cell(text, label) {
  const td = document.createElement("td");
  td.className = "table__cell";
  td.dataset.label = label;
  td.textContent = text;
  return td;
}

function actionButton(text, hidden, onClick) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "button button--secondary button--small";
  button.textContent = text;
  const extra = document.createElement("span");
  extra.className = "visually-hidden";
  extra.textContent = hidden;
  button.append(extra);
  button.addEventListener("click", onClick);
  return button;
}

function render(said) {
  const body = document.getElementById("marks");
  body.replaceChildren(...marks.map((mark, index) => {
    const row = document.createElement("tr");
    row.className = "table__row";
    row.dataset.mark = String(index + 1);
    row.append(cell(String(index + 1), "Mark"), cell(where(mark), "Where"));
    const colour = cell("", "Colour");
    colour.classList.add("table__cell--nowrap");
    const swatch = document.createElement("span");
    swatch.className = `swatch swatch--${mark.colour}`;
    swatch.setAttribute("aria-hidden", "true");
    colour.append(swatch, mark.colour.charAt(0).toUpperCase() + mark.colour.slice(1));
    row.append(colour, cell(String(mark.size), "Size"), cell(mark.note, "What you saw"));
    const actions = document.createElement("td");
    actions.className = "table__cell table__cell--action";
    const group = document.createElement("div");
    group.className = "table__actions";
    group.append(
      actionButton("Change", ` mark ${index + 1}`, () => startEditing(index)),
      actionButton("Remove", ` mark ${index + 1}`, () => {
        if (editing !== null) endEditing();
        marks.splice(index, 1);
        resetDetails();
        render(`Mark ${index + 1} removed.`);
        document.getElementById("marks-heading").focus();
      }));
    actions.append(group);
    row.append(actions);
    return row;
  }));
  document.getElementById("no-marks").hidden = marks.length > 0;
  document.getElementById("marks-wrapper").hidden = marks.length === 0;
  document.getElementById("marks-status").textContent = said;
  showPlace();
}

document.getElementById("marks-heading").setAttribute("tabindex", "-1");

const saveButton = document.getElementById("save-body-map");
saveButton.addEventListener("click", () => busy(saveButton, async () => {
  if (marks.length === 0) return showErrors([{ text: "Add at least one mark before you save the body map", field: "note" }]);
  if (pending || editing !== null) {
    return showErrors([{ text: "Finish the mark you are adding or changing first: choose \"" + addButton.textContent + "\"", field: "note" }]);
  }
  const query = new URLSearchParams({ school: ids.school, child: ids.child, concern: ids.concern });
  const body = { marks: marks.map(({ side, shape, points, colour, size, note }) => ({ side, shape, points, colour, size, note })) };
  const result = await call("POST", "/v1/body-maps?" + query.toString(), body, { session: true });
  if (!result.ok) {
    if (result.status === 401) return window.location.assign("/sign-in?ended=1&next=" + encodeURIComponent(location.pathname + location.search));
    return showProblem(result);
  }
  clearErrors();
  document.getElementById("editor").hidden = true;
  const count = marks.length;
  document.getElementById("saved-text").textContent =
    `The body map with ${count} mark${count === 1 ? "" : "s"} is kept with this concern. You cannot change it now; to correct it, draw a new one.`;
  document.getElementById("saved").hidden = false;
  document.getElementById("saved-title").focus();
}));

instruct();
render("");
