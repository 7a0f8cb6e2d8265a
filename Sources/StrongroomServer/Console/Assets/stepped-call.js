// Changes that need a second factor given in the last few minutes (adding or removing a person,
// approving a role). Without one, the person confirms on /confirm and comes back to this page,
// where they press the button again: a page never acts by itself when it is opened, so a link
// from elsewhere cannot make it act.
import { call } from "./api.js";

/**
 * Sends the change with the session's CSRF token. Returns the result of `call`, or null when
 * it has sent the person elsewhere (to confirm it is them, or to sign in again).
 */
export async function steppedCall(method, path, body) {
  const result = await call(method, path, body, { session: true });
  const here = window.location.pathname + window.location.search;
  if (!result.ok && result.slug === "step-up-required") {
    window.location.assign("/confirm?next=" + encodeURIComponent(here));
    return null;
  }
  if (!result.ok && result.status === 401) {
    window.location.assign("/sign-in?ended=1&next=" + encodeURIComponent(here));
    return null;
  }
  return result;
}
