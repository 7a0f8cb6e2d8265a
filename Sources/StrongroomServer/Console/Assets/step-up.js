// Acts that need a second factor given in the last few minutes (approving a shred, legal holds):
// when the window has passed, the person confirms on /confirm and comes back to `back`.
import { secondsOfStepUpLeft } from "./api.js";

/**
 * Runs `act` if the second factor is recent enough; else goes to /confirm, which comes back to
 * `back` (a path on this service). Returns false when it left the page.
 */
export async function withStepUp(back, act) {
  let left;
  try {
    left = await secondsOfStepUpLeft();
  } catch {
    left = null;
  }
  if (left === null) {
    window.location.assign("/sign-in?ended=1&next=" + encodeURIComponent(back));
    return false;
  }
  // A few seconds to spare: the request must reach the server inside the window.
  if (left < 3) {
    window.location.assign("/confirm?next=" + encodeURIComponent(back));
    return false;
  }
  await act();
  return true;
}

/** "2031-08-31" as "31 August 2031"; an ISO time as its day. */
export function dayText(text) {
  const date = new Date(text.length === 10 ? text + "T00:00:00Z" : text);
  if (Number.isNaN(date.getTime())) return text;
  return date.toLocaleDateString("en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
}
