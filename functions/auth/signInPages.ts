import type { HttpResponseInit } from "@azure/functions";
import { renderResultPage } from "./resultPage";
import { SignInFailureKind } from "./signInFlow";

const START_AGAIN = "Start again from /api/auth/login with the function key (or run `npm run login`).";

export function linkedPage(username: string, name: string | undefined): HttpResponseInit {
  return renderResultPage({
    status: 200,
    outcome: "success",
    title: "OneDrive linked",
    paragraphs: [`Linked as ${name ? `${name} (${username})` : username}.`, "Transfers will upload into this account's OneDrive. You can close this page."],
  });
}

export function transactionProblemPage(reason: "missing" | "forged" | "expired"): HttpResponseInit {
  const explanation = {
    missing: "This sign-in was not started from this browser (the sign-in cookie is missing), so it cannot be trusted.",
    forged: "The sign-in state does not match the one this browser started, so the response was refused.",
    expired: "This sign-in took longer than 10 minutes and has expired.",
  }[reason];
  return renderResultPage({ status: 400, outcome: "failure", title: "Sign-in not accepted", paragraphs: [explanation, "Nothing was stored.", START_AGAIN] });
}

export function failurePage(kind: SignInFailureKind, detail?: string, linkedUsername?: string): HttpResponseInit {
  switch (kind) {
    case "denied":
      return page(403, "Consent declined", ["The sign-in was cancelled or consent was not given, so no account was linked.", detail ? `The identity platform said: ${detail}` : "", START_AGAIN]);
    case "identityError":
      return page(502, "Sign-in failed", [`The identity platform returned an error: ${detail ?? "unknown"}.`, START_AGAIN]);
    case "stateMismatch":
      return transactionProblemPage("forged");
    case "missingCode":
      return page(400, "Sign-in incomplete", ["The response carried no authorization code.", START_AGAIN]);
    case "codeRejected":
      return page(400, "Sign-in code not accepted", ["The identity platform refused the authorization code: it was already used, has expired, or does not belong to this sign-in.", "Nothing was stored.", START_AGAIN]);
    case "tokenEndpointError":
      return page(502, "Sign-in failed", [`Redeeming the authorization code failed: ${detail ?? "unknown error"}.`, "Nothing was stored. Check CLIENT_ID, CLIENT_SECRET and the redirect URI of the app registration, then start again."]);
    case "idTokenRejected":
      return page(400, "Sign-in not accepted", ["The identity token did not carry the nonce of this sign-in, so it may belong to another one.", "Nothing was stored.", START_AGAIN]);
    case "otherTenant":
      return page(403, "Wrong tenant", [`You signed in as ${detail ?? "an account"} from another tenant than the one this app is configured for (TENANT).`, "Nothing was stored. Start again and pick an account of the configured tenant."]);
    case "notExpectedAccount":
      return page(403, "Wrong account", [`You signed in as ${detail ?? "another account"}, which is not the account this app is configured for (EXPECTED_ACCOUNT).`, "Nothing was stored. Start again and pick the configured account."]);
    case "differentAccountLinked":
      return page(403, "Another account is already linked", [
        `You signed in as ${detail ?? "another account"}, but ${linkedUsername ?? "a different account"} is linked already. Only the linked account can relink.`,
        "Nothing was stored. To replace the account, an administrator deletes the token secret (or token cache file) and then links again.",
      ]);
    case "storeFailed":
      return page(500, "Could not store the sign-in", [`${detail ?? "The token store failed."}`, "The account was not linked."]);
  }
}

function page(status: number, title: string, paragraphs: string[]): HttpResponseInit {
  return renderResultPage({ status, outcome: "failure", title, paragraphs: paragraphs.filter((text) => text !== "") });
}

export function configurationProblemPage(): HttpResponseInit {
  return page(500, "Sign-in is not configured", ["The app's sign-in settings are incomplete or invalid. The details are in the function's log.", "Fix the app settings named there and try again."]);
}

/**
 * AUTH_MODE=app: nobody signs in, so login and callback only say so (they stay registered: which functions exist is
 * decided when the module loads, before settings can be read reliably). 404: there is no sign-in here to start.
 */
export function appModePage(): HttpResponseInit {
  return renderResultPage({
    status: 404,
    outcome: "success",
    title: "No sign-in needed",
    paragraphs: [
      "This app runs without sign-in (AUTH_MODE=app): it uploads with its own identity, so there is no account to link and nothing expires.",
      "GET /api/transfers shows which identity and destination are in use.",
    ],
  });
}
