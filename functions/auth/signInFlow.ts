import { randomBytes } from "node:crypto";
import { AuthError, CryptoProvider, PromptValue, ResponseMode } from "@azure/msal-node";
import { decideAccount } from "./accountPolicy";
import { errorText } from "../shared/errorText";
import { AuthSettings } from "./authSettings";
import { graphFilesScope } from "./graphScope";
import { createConfidentialClient } from "./msalClient";
import { TokenCacheStore, TokenStoreError } from "./tokenCacheStore";
import { constantTimeEquals, SignInTransaction, TRANSACTION_LIFETIME_SECONDS } from "./transactionCookie";

/** What the identity platform sent back to the redirect URI (RFC 6749 §4.1.2). */
export interface CallbackParameters {
  code?: string;
  state?: string;
  error?: string;
  errorDescription?: string;
}

export type SignInFailureKind =
  | "denied"
  | "identityError"
  | "stateMismatch"
  | "missingCode"
  | "codeRejected"
  | "tokenEndpointError"
  | "idTokenRejected"
  | "otherTenant"
  | "notExpectedAccount"
  | "differentAccountLinked"
  | "storeFailed";

export type SignInOutcome =
  | { ok: true; username: string; name?: string; homeAccountId: string }
  | { ok: false; kind: SignInFailureKind; detail?: string; linkedUsername?: string };

export interface SignInStart {
  authorizeUrl: string;
  transaction: SignInTransaction;
}

/** Creates a fresh state, nonce and PKCE pair and the authorize URL that carries them. */
export async function beginSignIn(settings: AuthSettings, redirectUri: string, now: number = Date.now()): Promise<SignInStart> {
  const pkce = await new CryptoProvider().generatePkceCodes();
  const transaction: SignInTransaction = {
    state: randomBytes(32).toString("base64url"),
    nonce: randomBytes(16).toString("base64url"),
    codeVerifier: pkce.verifier,
    redirectUri,
    expiresAt: now + TRANSACTION_LIFETIME_SECONDS * 1000,
  };
  const authorizeUrl = await createConfidentialClient(settings).getAuthCodeUrl({
    scopes: [graphFilesScope(settings.graphEndpoint)],
    redirectUri,
    responseMode: ResponseMode.QUERY,
    codeChallenge: pkce.challenge,
    codeChallengeMethod: "S256",
    state: transaction.state,
    nonce: transaction.nonce,
    // The operator picks the account on purpose instead of silently reusing whoever is signed in to the browser.
    prompt: PromptValue.SELECT_ACCOUNT,
  });
  return { authorizeUrl, transaction };
}

/**
 * Finishes a sign-in: checks state, redeems the code with the verifier in a throw-away client that has no cache
 * plugin (so nothing is persisted yet), checks the account, and only then stores the cache.
 */
export async function completeSignIn(
  settings: AuthSettings,
  store: TokenCacheStore,
  transaction: SignInTransaction,
  callback: CallbackParameters,
): Promise<SignInOutcome> {
  // The state comes first: an error answer without it could come from any page that links here, and believing it
  // would let that page end a sign-in in progress.
  if (!callback.state || !constantTimeEquals(callback.state, transaction.state)) return { ok: false, kind: "stateMismatch" };
  if (callback.error) {
    const kind = callback.error === "access_denied" || callback.error === "consent_required" ? "denied" : "identityError";
    return { ok: false, kind, detail: `${callback.error}${callback.errorDescription ? `: ${callback.errorDescription}` : ""}` };
  }
  if (!callback.code) return { ok: false, kind: "missingCode" };

  const staging = createConfidentialClient(settings);
  let result;
  try {
    result = await staging.acquireTokenByCode(
      {
        code: callback.code,
        scopes: [graphFilesScope(settings.graphEndpoint)],
        redirectUri: transaction.redirectUri,
        codeVerifier: transaction.codeVerifier,
        state: transaction.state,
        nonce: transaction.nonce,
      },
      { code: callback.code, state: callback.state },
    );
  } catch (error) {
    const authError = error instanceof AuthError ? error : undefined;
    const kind = authError?.errorCode === "invalid_grant" ? "codeRejected" : authError?.errorCode === "nonce_mismatch" ? "idTokenRejected" : "tokenEndpointError";
    return { ok: false, kind, detail: describeAuthError(error) };
  }
  if (!result?.account) return { ok: false, kind: "tokenEndpointError", detail: "the token response named no account" };

  let stored;
  try {
    stored = await store.read();
  } catch (error) {
    return { ok: false, kind: "storeFailed", detail: (error as Error).message };
  }
  const decision = decideAccount(result.account, { tenantId: settings.tenantId, expectedAccount: settings.expectedAccount }, stored?.serialized);
  if (!decision.allowed) return { ok: false, kind: decision.reason, linkedUsername: decision.linkedUsername, detail: result.account.username };

  try {
    await store.write(staging.getTokenCache().serialize());
  } catch (error) {
    return { ok: false, kind: "storeFailed", detail: error instanceof TokenStoreError ? error.message : "the token store rejected the write" };
  }
  return { ok: true, username: result.account.username, name: result.account.name, homeAccountId: result.account.homeAccountId };
}

/** MSAL error text without anything from the request: error code, the AADSTS description, correlation id. */
export function describeAuthError(error: unknown): string {
  if (error instanceof AuthError) {
    const description = error.errorMessage.split(/\r?\n/)[0] ?? "";
    return `${error.errorCode}${description ? `: ${description}` : ""}${error.correlationId ? ` (correlation id ${error.correlationId})` : ""}`;
  }
  return errorText(error);
}
