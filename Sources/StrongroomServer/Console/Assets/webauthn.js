// The WebAuthn ceremonies: Strongroom's JSON options (bytes as base64url) to the
// ArrayBuffers navigator.credentials wants, and the credential back to JSON.

export function fromBase64url(text) {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

export function toBase64url(buffer) {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export function supported() {
  return typeof window.PublicKeyCredential === "function" && !!navigator.credentials;
}

/** Registers a new passkey from creation options ({ publicKey }); the body for .../passkey/finish. */
export async function create(options) {
  const publicKey = { ...options.publicKey };
  publicKey.challenge = fromBase64url(publicKey.challenge);
  publicKey.user = { ...publicKey.user, id: fromBase64url(publicKey.user.id) };
  if (publicKey.excludeCredentials) {
    publicKey.excludeCredentials = publicKey.excludeCredentials.map((c) => ({ ...c, id: fromBase64url(c.id) }));
  }
  const credential = await navigator.credentials.create({ publicKey });
  return {
    id: toBase64url(credential.rawId),
    clientDataJSON: toBase64url(credential.response.clientDataJSON),
    attestationObject: toBase64url(credential.response.attestationObject),
  };
}

/** Signs a challenge from request options ({ ceremony?, publicKey }); the body for .../finish. */
export async function get(options) {
  const publicKey = { ...options.publicKey };
  publicKey.challenge = fromBase64url(publicKey.challenge);
  publicKey.allowCredentials = (publicKey.allowCredentials || []).map((c) => ({ ...c, id: fromBase64url(c.id) }));
  const credential = await navigator.credentials.get({ publicKey });
  const body = {
    id: toBase64url(credential.rawId),
    clientDataJSON: toBase64url(credential.response.clientDataJSON),
    authenticatorData: toBase64url(credential.response.authenticatorData),
    signature: toBase64url(credential.response.signature),
  };
  if (credential.response.userHandle) body.userHandle = toBase64url(credential.response.userHandle);
  if (options.ceremony) body.ceremony = options.ceremony;
  return body;
}

/** What to tell a person when the browser's passkey prompt fails or is cancelled. */
export function failureText(error) {
  if (error && error.name === "NotAllowedError") {
    return "The passkey was not used. It may have been cancelled, or it timed out. Try again.";
  }
  if (error && error.name === "InvalidStateError") {
    return "This passkey is already set up. Sign in with it instead.";
  }
  return "This browser could not use a passkey. Try again, or use another way.";
}
