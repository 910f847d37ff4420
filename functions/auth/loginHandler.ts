import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import { runsWithoutSignIn, settingsForInvocation, transactionCookie } from "./handlerSupport";
import { beginSignIn } from "./signInFlow";
import { appModePage, configurationProblemPage } from "./signInPages";
import { deriveCookieKey, sealTransaction } from "./transactionCookie";

/**
 * GET /api/auth/login (authLevel "function": only holders of the function key can start a link, because whoever
 * finishes a sign-in decides which OneDrive receives the uploads). Seals state, nonce and PKCE verifier into a
 * short-lived cookie and redirects to the identity platform.
 */
export async function loginHandler(request: HttpRequest, context: InvocationContext): Promise<HttpResponseInit> {
  const withoutSignIn = runsWithoutSignIn(context);
  if (withoutSignIn === "invalid") return configurationProblemPage();
  if (withoutSignIn) return appModePage();
  const settings = settingsForInvocation(context);
  if (!settings) return configurationProblemPage();
  const { authorizeUrl, transaction } = await beginSignIn(settings, settings.redirectUri);
  const requestHost = new URL(request.url).host;
  const callbackHost = new URL(settings.redirectUri).host;
  if (requestHost !== callbackHost) {
    context.warn(`Sign-in started on ${requestHost} but REDIRECT_URI points at ${callbackHost}: the sign-in cookie is bound to this host, so the callback will refuse the result. Open /api/auth/login on ${callbackHost}.`);
  }
  context.info(`OneDrive sign-in started (invocation ${context.invocationId}); redirecting to ${new URL(settings.authority).host}.`);
  return {
    status: 302,
    headers: { Location: authorizeUrl, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer" },
    cookies: [transactionCookie(sealTransaction(transaction, deriveCookieKey(settings.clientSecret)))],
  };
}
