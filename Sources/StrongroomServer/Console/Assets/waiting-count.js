// The header's "Waiting for you" count, on every page of a signed-in person: refreshed every
// 30 seconds and when the person comes back to the tab, without reloading the page. Counts
// only: what waits is seen on the pages it links to. The server does not count this polling
// as use, so an unattended page still times out.
const badge = document.getElementById("header-waiting-count");
const REFRESH_MS = 30_000;

async function refresh() {
  let response;
  try {
    response = await fetch("/v1/waiting", { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } });
  } catch {
    return;
  }
  if (!response.ok) return;
  const data = await response.json().catch(() => null);
  if (!data || !Number.isInteger(data.total)) return;
  badge.textContent = data.total > 0 ? `(${data.total})` : "";
  badge.dataset.total = String(data.total);
}

if (badge) {
  refresh();
  setInterval(refresh, REFRESH_MS);
  window.addEventListener("focus", refresh);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") refresh(); });
}
