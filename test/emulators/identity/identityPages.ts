import type { EmulatedUser } from "./identityEmulator";

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Stands in for the account picker and consent prompt: the browser test clicks Accept or Deny. */
export function consentPage(input: { consentAction: string; transaction: string; user: EmulatedUser; scope: string; clientId: string }): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Permissions requested</title></head>
<body>
<main>
  <h1>Permissions requested</h1>
  <p>Signed in as <strong id="signed-in-user">${escape(input.user.username)}</strong> (${escape(input.user.name)}).</p>
  <p>App <code>${escape(input.clientId)}</code> asks for: <span id="scopes">${escape(input.scope)}</span></p>
  <form method="post" action="${escape(input.consentAction)}">
    <input type="hidden" name="transaction" value="${escape(input.transaction)}">
    <button type="submit" name="decision" value="accept" id="accept">Accept</button>
    <button type="submit" name="decision" value="deny" id="deny">Deny</button>
  </form>
</main>
</body></html>
`;
}

export function errorPage(code: string, message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in error</title></head>
<body><main><h1>Sorry, but we're having trouble signing you in.</h1><p id="error-code">${escape(code)}</p><p>${escape(message)}</p></main></body></html>
`;
}
