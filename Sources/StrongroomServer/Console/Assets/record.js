// The record page: the preview the server drew (a PNG shown from a blob, or text set with
// textContent, never parsed as HTML), page by page for a PDF; and the download, which needs a
// second factor given in the last few minutes: without one, the person confirms on /confirm
// and comes back here with ?download=1, and the download starts.
import { busy, secondsOfStepUpLeft, showErrors, wireHeader } from "./api.js";

wireHeader();
const root = document.getElementById("record");
const id = root.dataset.record;
const recordPath = "/records/" + encodeURIComponent(id);
let page = Math.max(1, parseInt(root.dataset.page, 10) || 1);
let pages = 1;
let imageURL = null;

const status = document.getElementById("preview-status");
const image = document.getElementById("preview-image");
const text = document.getElementById("preview-text");

function say(message) {
  status.textContent = message;
  status.hidden = !message;
}

async function showPreview() {
  say("Loading the preview…");
  let response;
  try {
    response = await fetch(`/v1/attachments/${encodeURIComponent(id)}/preview?page=${page}`, { credentials: "same-origin", cache: "no-store" });
  } catch {
    return say("The preview could not be loaded. Check your connection and reload the page.");
  }
  if (response.status === 401) return window.location.assign("/sign-in?ended=1&next=" + encodeURIComponent(recordPath));
  if (response.status === 415) {
    image.hidden = true;
    text.hidden = true;
    return say("Strongroom cannot show a preview of this kind of file. Download it to open it.");
  }
  if (!response.ok) return say("The preview could not be shown. Reload the page to try again.");
  pages = Math.max(1, parseInt(response.headers.get("Strongroom-Preview-Pages") || "1", 10) || 1);
  const type = response.headers.get("Content-Type") || "";
  if (type.startsWith("image/png")) {
    const blob = await response.blob();
    if (imageURL) URL.revokeObjectURL(imageURL);
    imageURL = URL.createObjectURL(blob);
    image.src = imageURL;
    image.alt = pages > 1 ? `Page ${page} of ${pages} of the record, as Strongroom drew it` : "The record, as Strongroom drew it";
    image.hidden = false;
    text.hidden = true;
    say("");
  } else {
    text.textContent = await response.text();
    text.hidden = false;
    image.hidden = true;
    say(response.headers.get("Strongroom-Preview-Truncated") === "true" ? "This is the start of the text. Download the file to read all of it." : "");
  }
  showPages();
}

function showPages() {
  const nav = document.getElementById("preview-pages");
  nav.hidden = pages < 2;
  if (pages < 2) return;
  document.getElementById("preview-page-text").textContent = `Page ${page} of ${pages}`;
  document.getElementById("preview-previous").disabled = page <= 1;
  document.getElementById("preview-next").disabled = page >= pages;
}

function turnTo(next) {
  page = Math.min(Math.max(1, next), pages);
  history.replaceState(null, "", page > 1 ? `${recordPath}?page=${page}` : recordPath);
  return showPreview();
}

if (status) {
  const previous = document.getElementById("preview-previous");
  const next = document.getElementById("preview-next");
  previous.addEventListener("click", () => busy(previous, () => turnTo(page - 1)).then(showPages));
  next.addEventListener("click", () => busy(next, () => turnTo(page + 1)).then(showPages));
  showPreview();
}

async function download() {
  let left;
  try {
    left = await secondsOfStepUpLeft();
  } catch {
    return showErrors([{ text: "Strongroom could not be reached. Check your connection and try again." }]);
  }
  if (left === null) return window.location.assign("/sign-in?ended=1&next=" + encodeURIComponent(recordPath));
  // A few seconds to spare: the download must begin inside the window.
  if (left < 3) return window.location.assign("/confirm?next=" + encodeURIComponent(recordPath + "?download=1"));
  // The answer is an attachment: the browser saves it and this page stays.
  window.location.assign(`/v1/attachments/${encodeURIComponent(id)}`);
  const note = document.getElementById("download-status");
  note.textContent = "Your download has started. Look for the file in your downloads.";
  note.hidden = false;
}

const downloadButton = document.getElementById("download");
if (downloadButton) {
  downloadButton.addEventListener("click", () => busy(downloadButton, download));
  if (root.dataset.startDownload === "true") {
    // Back from confirming: start the download once, and not again on a reload.
    history.replaceState(null, "", recordPath);
    busy(downloadButton, download);
  }
}
