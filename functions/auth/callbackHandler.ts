import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { clearedTransactionCookie, settingsForInvocation } from "./handlerSupport";
import { completeSignIn } from "./signInFlow";
import { configurationProblemPage, failurePage, linkedPage, transactionProblemPage } from "./signInPages";
import { createTokenCacheStore } from "./tokenStoreFactory";
import { deriveCookieKey, openTransaction, readCookie, TRANSACTION_COOKIE_NAME } from "./transactionCookie";

/**
 * GET /api/auth/callback (authLevel "anonymous": the identity platform's `code` parameter is also the name the
 * Functions host reads a function key from). Every path clears the sign-in cookie; only a verified transaction,
 * a redeemed code and an allowed account lead to a stored cache.
 */
export async function callbackHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const response = await handleCallback(request, context);
  return { ...response, cookies: [clearedTransactionCookie()] };
}

async function handleCallback(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const settings = settingsForInvocation(context);
  if (!settings) return configurationProblemPage();
  const query = request.query;
  const error = query.get("error") ?? undefined;
  const opened = openTransaction(readCookie(request.headers.get("cookie"), TRANSACTION_COOKIE_NAME), deriveCookieKey(settings.clientSecret));
  if (!opened.ok) {
    // A denial needs no trusted transaction to be reported, and stores nothing either way.
    if (error) return failurePage("denied", undefined);
    context.warn(`OneDrive sign-in callback refused: transaction ${opened.reason}.`);
    return transactionProblemPage(opened.reason);
  }
  const outcome = await completeSignIn(settings, createTokenCacheStore(settings), opened.transaction, {
    code: query.get("code") ?? undefined,
    state: query.get("state") ?? undefined,
    error,
    errorDescription: query.get("error_description") ?? undefined,
  });
  if (outcome.ok) {
    context.info(`OneDrive account linked: ${outcome.username}.`);
    return linkedPage(outcome.username, outcome.name);
  }
  context.warn(`OneDrive sign-in callback refused: ${outcome.kind}${outcome.kind === "storeFailed" || outcome.kind === "tokenEndpointError" ? ` (${outcome.detail})` : ""}.`);
  return failurePage(outcome.kind, outcome.detail, outcome.linkedUsername);
}
