// Streams one file to POST /v1/attachments with XMLHttpRequest, whose upload progress fetch
// cannot report. Resolves to { ok, status, record } or { ok: false, status, slug, detail }.

const problemPrefix = "urn:strongroom:problem:";

/** Sends `file` as the body; `onProgress(fraction)` as it goes. The file's bytes go nowhere else. */
export function uploadFile(file, { school, child, concern, kind, csrfToken, onProgress }) {
  const query = new URLSearchParams({ school, child, concern, kind, filename: file.name });
  return new Promise((resolve) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/v1/attachments?" + query.toString());
    request.withCredentials = true;
    request.setRequestHeader("Accept", "application/json");
    // The vault checks the declared type against the content; a browser that does not know it says so.
    request.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    if (csrfToken) request.setRequestHeader("X-CSRF-Token", csrfToken);
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && event.total > 0) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      let data = null;
      try {
        data = JSON.parse(request.responseText);
      } catch {
        data = null;
      }
      if (request.status === 201) return resolve({ ok: true, status: 201, record: data });
      const type = data && typeof data.type === "string" ? data.type : "";
      resolve({
        ok: false, status: request.status, slug: type.startsWith(problemPrefix) ? type.slice(problemPrefix.length) : "",
        detail: data && typeof data.detail === "string" ? data.detail : "",
      });
    });
    for (const failure of ["error", "abort", "timeout"]) {
      request.addEventListener(failure, () => resolve({ ok: false, status: 0, slug: "", detail: "" }));
    }
    request.send(file);
  });
}
