// Words for what happened to an upload, as a teacher would want to read them: the type and size
// of what was stored, or why a file was refused and what to do instead. Built from the problem
// document's type and detail; never repeats the file's content.

const typeNames = {
  "image/png": "a PNG image", "image/jpeg": "a JPEG photo", "image/heic": "a HEIC photo", "image/heif": "a HEIC photo",
  "image/webp": "a WebP image", "application/pdf": "a PDF",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "a Word document",
  "application/vnd.oasis.opendocument.text": "an OpenDocument text file", "text/rtf": "a rich text (RTF) file",
  "application/rtf": "a rich text (RTF) file", "text/plain": "a plain text file", "audio/mpeg": "an MP3 recording",
  "audio/x-m4a": "an M4A recording", "audio/mp4": "an M4A recording", "audio/x-wav": "a WAV recording",
  "audio/wav": "a WAV recording", "audio/ogg": "an Ogg recording", "message/rfc822": "an email",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "an Excel spreadsheet",
  "application/vnd.oasis.opendocument.spreadsheet": "an OpenDocument spreadsheet",
};

// What a file name's ending claims, in the same words.
const extensionNames = {
  png: "a PNG image", jpg: "a JPEG photo", jpeg: "a JPEG photo", heic: "a HEIC photo", heif: "a HEIC photo", webp: "a WebP image",
  pdf: "a PDF", docx: "a Word document", odt: "an OpenDocument text file", rtf: "a rich text (RTF) file", txt: "a plain text file",
  mp3: "an MP3 recording", m4a: "an M4A recording", wav: "a WAV recording", ogg: "an Ogg recording", eml: "an email",
  xlsx: "an Excel spreadsheet", ods: "an OpenDocument spreadsheet",
};

// The vault's names for refused families (TypePolicy.family), in plain words.
const families = [
  ["executable program", "a program"],
  ["archive", "a compressed archive, such as a zip file"],
  ["HTML page", "a web page"],
  ["SVG image", "an SVG drawing, which can hide a program"],
  ["XML document", "an XML file"],
  ["script or program source", "a script"],
  ["HTML or script markup", "a text file with web page or script code in it"],
];

const notStored = "It was not stored.";

/** "a PDF", from a MIME type; the type itself when it is not one Strongroom keeps. */
export function typeName(mime) {
  const bare = String(mime || "").split(";")[0].trim().toLowerCase();
  return typeNames[bare] || bare || "a file";
}

/** "PDF", "PNG image": a type name without its article, for "Stored: PDF, 12 KB". */
export function storedTypeName(mime) {
  return typeName(mime).replace(/^(a|an) /, "").replace(/^./, (c) => c.toUpperCase());
}

/** Bytes as people read file sizes: "850 bytes", "12 KB", "3.4 MB". */
export function sizeText(bytes) {
  if (bytes < 1000) return `${bytes} byte${bytes === 1 ? "" : "s"}`;
  if (bytes < 1_000_000) return `${Math.round(bytes / 1000)} KB`;
  const megabytes = bytes / 1_000_000;
  return `${megabytes < 10 ? megabytes.toFixed(1) : Math.round(megabytes)} MB`;
}

function claimed(filename) {
  const dot = filename.lastIndexOf(".");
  return dot > 0 ? extensionNames[filename.slice(dot + 1).toLowerCase()] || null : null;
}

function found(detail) {
  const match = /the content is ([^;(]+?)(?: \(([^)]*)\))?(?:[;,]|$)/.exec(detail);
  if (!match) return null;
  return match[2] ? typeName(match[2]) : typeName(match[1]);
}

function family(detail) {
  for (const [phrase, words] of families) if (detail.includes(phrase)) return words;
  return "a kind of file Strongroom does not keep";
}

function kindTypes(detail) {
  const match = /allows (.+)$/.exec(detail);
  return match ? match[1].replace(/\.$/, "") : null;
}

/**
 * What to tell the person about a refused upload: the problem's slug (from its `type`), its
 * `detail`, the HTTP status, the file's name and the kind they chose.
 */
export function refusalText({ status, slug, detail }, filename) {
  const text = typeof detail === "string" ? detail : "";
  const says = claimed(filename);
  switch (slug) {
    case "dangerous-type": {
      const what = family(text);
      return says ? `This file is ${what}, not ${says}. ${notStored}` : `This file is ${what}, which Strongroom does not keep. ${notStored}`;
    }
    case "extension-mismatch":
    case "declared-type-mismatch": {
      const really = found(text);
      const claim = says || "what its name says";
      return really
        ? `This file's name says it is ${claim}, but it is really ${really}. Rename it to match, or save it again, then attach it. ${notStored}`
        : `This file is not what its name says it is. ${notStored}`;
    }
    case "type-not-allowed": {
      const really = found(text);
      const allowed = kindTypes(text);
      return `${really ? "This file is " + really + ", which" : "This type of file"} cannot be attached as this kind.`
        + (allowed ? ` This kind can be: ${allowed}.` : "") + ` Choose another kind, or save the file again as one of those. ${notStored}`;
    }
    case "malformed-content":
      return `This file looks damaged: it starts like ${found(text) || "a known type"} but the rest does not match. ${notStored}`;
    case "active-content":
      return `This file has macros, scripts or other files hidden inside it. Save it again as a plain PDF (for example with "Print to PDF"), then attach that. ${notStored}`;
    case "empty":
      return `This file is empty. ${notStored}`;
    case "too-large":
      return `This file is too large for Strongroom. Make it smaller (for example a lower-quality photo or scan), then try again. ${notStored}`;
    case "unauthenticated":
      return `You have been signed out. Sign in again, then attach this file again. ${notStored}`;
    case "forbidden":
    case "not-found":
      return `You cannot add evidence for this school. ${notStored}`;
    case "csrf":
      return `Strongroom could not check this page. Reload the page and try again. ${notStored}`;
    case "invalid-identifier":
    case "invalid-argument":
    case "unknown-kind":
      return `The school, child, concern or kind is not right. Go back and check them. ${notStored}`;
    case "storage-full":
      return `Strongroom has run out of space. Tell the person who looks after Strongroom at your school. ${notStored}`;
    case "busy":
      return `Strongroom is busy. Wait a minute, then try again. ${notStored}`;
    default:
      if (status === 0) return `The upload stopped before it finished. Check your connection and try again. ${notStored}`;
      return `Something went wrong. Try again, and if it happens again tell the person who looks after Strongroom. ${notStored}`;
  }
}
