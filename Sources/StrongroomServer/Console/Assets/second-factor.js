// The "code from your app, or a recovery code instead" choice on the sign-in and confirm pages.

/**
 * Wires the two "instead" buttons. Returns a function that reads the chosen factor as
 * { body } for the JSON route, or { error: { text, field } } when it is missing or malformed.
 */
export function wireSecondFactor() {
  const codeGroup = document.getElementById("code-group");
  const recoveryGroup = document.getElementById("recoveryCode-group");
  const code = document.getElementById("code");
  const recovery = document.getElementById("recoveryCode");
  document.getElementById("use-recovery-code").addEventListener("click", () => {
    codeGroup.hidden = true;
    recoveryGroup.hidden = false;
    recovery.focus();
  });
  document.getElementById("use-code").addEventListener("click", () => {
    recoveryGroup.hidden = true;
    codeGroup.hidden = false;
    code.focus();
  });
  return () => {
    if (!recoveryGroup.hidden) {
      const value = recovery.value.trim();
      if (!value) return { error: { text: "Enter a recovery code", field: "recoveryCode" } };
      return { body: { recoveryCode: value } };
    }
    // People copy "123 456" as the app shows it: the spaces go, nothing else is changed.
    const value = code.value.replace(/ /g, "");
    if (!value) return { error: { text: "Enter the code from your authenticator app", field: "code" } };
    if (!/^[0-9]{6}$/.test(value)) return { error: { text: "The code must be 6 numbers, like 123456", field: "code" } };
    return { body: { code: value } };
  };
}

/** Empties the code fields after an attempt: a code is used once, so the next try needs a new one. */
export function clearSecondFactor() {
  document.getElementById("code").value = "";
  document.getElementById("recoveryCode").value = "";
}
