import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { clearedTransactionCookie, runsWithoutSignIn, settingsForInvocation } from "./handlerSupport";
import { completeSignIn } from "./signInFlow";
import { appModePage, configurationProblemPage, failurePage, linkedPage, transactionProblemPage } from "./signInPages";
import { createTokenCacheStore } from "./tokenStoreFactory";
import { deriveCookieKey, openTransaction, readCookie, TRANSACTION_COOKIE_NAME } from "./transactionCookie";

/**
 * GET /api/auth/callback (authLevel "anonymous": the identity platform's `code` parameter is also the name the
 * Functions host reads a function key from). Only a verified transaction, a redeemed code and an allowed account lead
 * to a stored cache. The sign-in cookie is cleared on every answer except one whose state does not match: such a
 * request is not the answer to this browser's sign-in (any page can link here), so the sign-in stays open for the
 * genuine redirect.
 */
export async function callbackHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const { response, keepTransaction } = await handleCallback(request, context);
  return keepTransaction ? response : { ...response, cookies: [clearedTransactionCookie()] };
}

async function handleCallback(request: HttpRequest, context: InvocationContext): Promise<{ response: HttpResponseInit; keepTransaction?: boolean }> {
  const withoutSignIn = runsWithoutSignIn(context);
  if (withoutSignIn === "invalid") return { response: configurationProblemPage() };
  if (withoutSignIn) return { response: appModePage() };
  const settings = settingsForInvocation(context);
  if (!settings) return { response: configurationProblemPage() };
  const query = request.query;
  const opened = openTransaction(readCookie(request.headers.get("cookie"), TRANSACTION_COOKIE_NAME), deriveCookieKey(settings.clientSecret));
  if (!opened.ok) {
    // An error answer is not believed either: without a transaction its state cannot be checked.
    context.warn(`OneDrive sign-in callback refused: transaction ${opened.reason}.`);
    return { response: transactionProblemPage(opened.reason) };
  }
  const outcome = await completeSignIn(settings, createTokenCacheStore(settings), opened.transaction, {
    code: query.get("code") ?? undefined,
    state: query.get("state") ?? undefined,
    error: query.get("error") ?? undefined,
    errorDescription: query.get("error_description") ?? undefined,
  });
  if (outcome.ok) {
    context.info(`OneDrive account linked: ${outcome.username}.`);
    return { response: linkedPage(outcome.username, outcome.name) };
  }
  context.warn(`OneDrive sign-in callback refused: ${outcome.kind}${outcome.kind === "storeFailed" || outcome.kind === "tokenEndpointError" ? ` (${outcome.detail})` : ""}.`);
  return { response: failurePage(outcome.kind, outcome.detail, outcome.linkedUsername), keepTransaction: outcome.kind === "stateMismatch" };
}
