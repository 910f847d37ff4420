import { createHash, createHmac, randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { checkClientAssertion, JWT_BEARER, type FederatedCredential } from "./clientAssertions";
import { listenHttpsOnLoopback, readBody } from "./loopbackHttpsServer";
import { consentPage, errorPage } from "./identityPages";
import { startManagedIdentityEndpoint, type EmulatedManagedIdentity, type ManagedIdentityEndpoint } from "./managedIdentityEndpoint";
import type { GraphPrincipal } from "../onedrive/types";

export type { EmulatedManagedIdentity, FederatedCredential };

/**
 * Microsoft identity platform (v2.0 endpoints) for offline tests, strict where the real service is strict:
 * registered clients and exact redirect URIs, PKCE S256, single-use codes bound to client, redirect URI and
 * challenge, client-secret authentication, refresh-token rotation that keeps older tokens valid, revocation
 * (invalid_grant), and 429/503 with Retry-After. Real MSAL talks to it through knownAuthorities and the test CA.
 * App-only: the client-credentials grant with a secret, a certificate assertion or a federated assertion (see
 * clientAssertions.ts), app tokens carrying the registration's consented application permissions as `roles`, and
 * the App Service managed-identity endpoint that hands out the federated assertion (managedIdentityEndpoint.ts).
 */
export const MSA_TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad";

export interface EmulatedUser {
  username: string;
  name: string;
  oid: string;
  tid: string;
}

export interface RegisteredClient {
  clientId: string;
  /** Absent for a registration with no secret (certificate or federated credential only). */
  clientSecret?: string;
  redirectUris: string[];
  /** The tenant the registration lives in; the client-credentials grant is served only on /{this tenant}/. */
  homeTenantId?: string;
  /** PEM of each certificate uploaded under Certificates & secrets. */
  certificates?: string[];
  federatedCredentials?: FederatedCredential[];
  /** Application permissions of Microsoft Graph an admin consented to: the `roles` of its app-only tokens. */
  applicationPermissions?: string[];
}

/** Who a Graph access token stands for: the OneDrive emulator's `principals` option takes what describeAccessToken gives. */
export type { GraphPrincipal };

export interface IdentityEmulatorOptions {
  clients: RegisteredClient[];
  /** The person who answers the consent page. */
  user: EmulatedUser;
  /** Tenant ids (GUIDs) the emulator knows besides common/consumers/organizations. */
  tenants?: string[];
  accessTokenLifetimeSeconds?: number;
  /** Identities the emulated App Service instance has; enables the managed-identity endpoint. */
  managedIdentities?: EmulatedManagedIdentity[];
  /**
   * Resources (application ID URIs) app-only tokens may be requested for, each as `{resource}/.default`; default the
   * public Microsoft Graph. Tests add the OneDrive emulator's origin, which stands in for Graph.
   */
  graphResources?: string[];
}

export interface RecordedIdentityRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  form?: Record<string, string>;
  status: number;
}

interface PendingConsent {
  clientId: string;
  redirectUri: string;
  state?: string;
  nonce?: string;
  codeChallenge: string;
  scope: string;
  user: EmulatedUser;
  used: boolean;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  nonce?: string;
  scope: string;
  user: EmulatedUser;
  expiresAt: number;
  redeemed: boolean;
}

interface IssuedRefreshToken {
  clientId: string;
  user: EmulatedUser;
  scope: string;
  revoked: boolean;
}

interface InjectedFailure {
  status: 429 | 503;
  retryAfterSeconds: number;
}

export interface IdentityEmulator {
  origin: string;
  /** "localhost:PORT", the value for MSAL's knownAuthorities. */
  authorityHost: string;
  requests: RecordedIdentityRequest[];
  /** Every access token, refresh token, id token and code handed out, for "never logged" assertions. */
  issuedSecrets(): string[];
  /** Consent-page submissions (accept/deny) the emulator has seen. */
  consentDecisions(): Array<"accept" | "deny">;
  tokenRequestCount(grantType?: string): number;
  signInAs(user: EmulatedUser): void;
  /** Like a user or admin revoking sessions: every refresh token of that user stops working. */
  revokeRefreshTokens(username: string): void;
  failNextTokenRequests(count: number, failure: InjectedFailure): void;
  /**
   * The next code redemption answers with an ID token whose nonce is not the one /authorize received, as a token
   * injected from another sign-in would carry. The real service never does this; the client must notice it.
   */
  substituteNonceOnNextCodeRedemption(): void;
  /** The principal behind an access token this emulator issued and that has not expired; undefined otherwise. */
  describeAccessToken(token: string): GraphPrincipal | undefined;
  /** IDENTITY_ENDPOINT and IDENTITY_HEADER, when managedIdentities were given. */
  managedIdentity?: ManagedIdentityEndpoint;
  close(): Promise<void>;
}

const TENANT_ALIASES = new Set(["common", "consumers", "organizations"]);
const CODE_LIFETIME_MS = 10 * 60 * 1000;
const OIDC_SCOPES = new Set(["openid", "profile", "offline_access", "email"]);
const BASE64URL = /^[A-Za-z0-9_-]+$/;

function s256(verifier: string): string {
  return createHash("sha256").update(verifier, "ascii").digest("base64url");
}

function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

export async function startIdentityEmulator(options: IdentityEmulatorOptions): Promise<IdentityEmulator> {
  const clients = new Map(options.clients.map((client) => [client.clientId, client]));
  const tenants = new Set(
    [...(options.tenants ?? []), ...options.clients.flatMap((client) => client.homeTenantId ?? []), ...(options.managedIdentities ?? []).map((identity) => identity.tenantId)].map((tenant) => tenant.toLowerCase()),
  );
  const accessTokenLifetime = options.accessTokenLifetimeSeconds ?? 3600;
  const idTokenKey = randomBytes(32);
  const requests: RecordedIdentityRequest[] = [];
  const pendingConsents = new Map<string, PendingConsent>();
  const codes = new Map<string, IssuedCode>();
  const refreshTokens = new Map<string, IssuedRefreshToken>();
  const secrets: string[] = [];
  const decisions: Array<"accept" | "deny"> = [];
  const failures: InjectedFailure[] = [];
  let currentUser = options.user;
  let substituteNextNonce = false;
  const accessTokens = new Map<string, { principal: GraphPrincipal; expiresAt: number }>();
  const graphResources = new Set(options.graphResources ?? ["https://graph.microsoft.com"]);
  let managedIdentity: ManagedIdentityEndpoint | undefined;
  let origin = "";

  const tenantAllowed = (tenant: string) => TENANT_ALIASES.has(tenant.toLowerCase()) || tenants.has(tenant.toLowerCase());
  const userFitsTenant = (tenant: string, user: EmulatedUser) => {
    const lower = tenant.toLowerCase();
    if (lower === "common") return true;
    if (lower === "consumers") return user.tid === MSA_TENANT_ID;
    if (lower === "organizations") return user.tid !== MSA_TENANT_ID;
    return user.tid.toLowerCase() === lower;
  };

  function send(response: ServerResponse, record: RecordedIdentityRequest, status: number, headers: Record<string, string>, body: string): void {
    record.status = status;
    response.writeHead(status, headers).end(body);
  }

  function sendOAuthError(response: ServerResponse, record: RecordedIdentityRequest, status: number, error: string, aadsts: number, message: string, extraHeaders: Record<string, string> = {}): void {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const body = {
      error,
      error_description: `AADSTS${aadsts}: ${message} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${new Date().toISOString()}`,
      error_codes: [aadsts],
      timestamp: new Date().toISOString(),
      trace_id: traceId,
      correlation_id: correlationId,
    };
    send(response, record, status, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", ...extraHeaders }, JSON.stringify(body));
  }

  function redirectWith(response: ServerResponse, record: RecordedIdentityRequest, redirectUri: string, parameters: Record<string, string | undefined>): void {
    const target = new URL(redirectUri);
    for (const [name, value] of Object.entries(parameters)) if (value !== undefined) target.searchParams.set(name, value);
    send(response, record, 302, { Location: target.toString(), "Cache-Control": "no-store" }, "");
  }

  function openIdConfiguration(response: ServerResponse, record: RecordedIdentityRequest, tenant: string): void {
    const issuerTenant = TENANT_ALIASES.has(tenant.toLowerCase()) ? "{tenantid}" : tenant;
    const body = {
      issuer: `${origin}/${issuerTenant}/v2.0`,
      authorization_endpoint: `${origin}/${tenant}/oauth2/v2.0/authorize`,
      token_endpoint: `${origin}/${tenant}/oauth2/v2.0/token`,
      end_session_endpoint: `${origin}/${tenant}/oauth2/v2.0/logout`,
      jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ["query", "fragment", "form_post"],
      response_types_supported: ["code", "id_token", "code id_token", "id_token token"],
      scopes_supported: ["openid", "profile", "email", "offline_access"],
      token_endpoint_auth_methods_supported: ["client_secret_post", "private_key_jwt", "client_secret_basic"],
      code_challenge_methods_supported: ["S256"],
    };
    send(response, record, 200, { "Content-Type": "application/json; charset=utf-8" }, JSON.stringify(body));
  }

  function authorize(response: ServerResponse, record: RecordedIdentityRequest, tenant: string, query: URLSearchParams): void {
    const clientId = query.get("client_id") ?? "";
    const client = clients.get(clientId);
    // Errors before the redirect URI is trusted are shown on the emulator's own page, never redirected.
    if (!client) return send(response, record, 400, htmlHeaders, errorPage("AADSTS700016", `Application with identifier '${clientId}' was not found in the directory.`));
    const redirectUri = query.get("redirect_uri") ?? "";
    if (!client.redirectUris.includes(redirectUri)) {
      return send(response, record, 400, htmlHeaders, errorPage("AADSTS50011", `The redirect URI '${redirectUri}' specified in the request does not match the redirect URIs configured for the application '${clientId}'.`));
    }
    const state = query.get("state") ?? undefined;
    const fail = (error: string, description: string) => redirectWith(response, record, redirectUri, { error, error_description: description, state });
    if (query.get("response_type") !== "code") return fail("unsupported_response_type", "AADSTS700054: response_type must be 'code' for this client.");
    const responseMode = query.get("response_mode");
    if (responseMode !== null && responseMode !== "query") return fail("invalid_request", "AADSTS900144: this emulator answers with response_mode=query only.");
    const scope = query.get("scope") ?? "";
    if (scope.trim() === "") return fail("invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'.");
    const codeChallenge = query.get("code_challenge") ?? "";
    if (query.get("code_challenge_method") !== "S256" || codeChallenge.length !== 43 || !BASE64URL.test(codeChallenge)) {
      return fail("invalid_request", "AADSTS501491: Invalid size of Code_Challenge parameter, or code_challenge_method is not S256.");
    }
    if (!userFitsTenant(tenant, currentUser)) {
      return send(response, record, 400, htmlHeaders, errorPage("AADSTS50020", `User account '${currentUser.username}' does not exist in tenant '${tenant}'.`));
    }
    const transaction = randomBytes(16).toString("hex");
    pendingConsents.set(transaction, { clientId, redirectUri, state, nonce: query.get("nonce") ?? undefined, codeChallenge, scope, user: currentUser, used: false });
    send(response, record, 200, htmlHeaders, consentPage({ consentAction: `/${tenant}/oauth2/v2.0/consent`, transaction, user: currentUser, scope, clientId }));
  }

  function consent(response: ServerResponse, record: RecordedIdentityRequest, form: URLSearchParams): void {
    const pending = pendingConsents.get(form.get("transaction") ?? "");
    if (!pending || pending.used) return send(response, record, 400, htmlHeaders, errorPage("AADSTS90015", "The consent request is unknown or was already answered."));
    pending.used = true;
    const decision = form.get("decision");
    if (decision === "deny") {
      decisions.push("deny");
      return redirectWith(response, record, pending.redirectUri, {
        error: "access_denied",
        error_description: "AADSTS65004: User declined to consent to access the app.",
        state: pending.state,
      });
    }
    if (decision !== "accept") return send(response, record, 400, htmlHeaders, errorPage("AADSTS90014", "The consent form carried no decision."));
    decisions.push("accept");
    const code = `emu-code.${randomBytes(24).toString("base64url")}`;
    secrets.push(code);
    codes.set(code, { ...pending, expiresAt: Date.now() + CODE_LIFETIME_MS, redeemed: false });
    redirectWith(response, record, pending.redirectUri, { code, state: pending.state });
  }

  function issueTokens(response: ServerResponse, record: RecordedIdentityRequest, clientId: string, user: EmulatedUser, requestedScope: string, nonce: string | undefined): void {
    const now = Math.floor(Date.now() / 1000);
    const accessToken = `emu-at.${randomBytes(48).toString("base64url")}`;
    const refreshToken = `emu-rt.${randomBytes(48).toString("base64url")}`;
    const claims: Record<string, unknown> = {
      aud: clientId,
      iss: `${origin}/${user.tid}/v2.0`,
      iat: now,
      nbf: now,
      exp: now + 3600,
      name: user.name,
      preferred_username: user.username,
      oid: user.oid,
      sub: createHash("sha256").update(`${user.oid}|${clientId}`).digest("base64url"),
      tid: user.tid,
      ver: "2.0",
    };
    if (nonce !== undefined) claims.nonce = nonce;
    const signingInput = `${base64UrlJson({ typ: "JWT", alg: "HS256", kid: "emulator" })}.${base64UrlJson(claims)}`;
    const idToken = `${signingInput}.${createHmac("sha256", idTokenKey).update(signingInput).digest("base64url")}`;
    const grantedScope = requestedScope.split(" ").filter((scope) => scope !== "" && !OIDC_SCOPES.has(scope)).join(" ");
    refreshTokens.set(refreshToken, { clientId, user, scope: requestedScope, revoked: false });
    accessTokens.set(accessToken, { principal: { kind: "delegated", userId: user.oid, scopes: grantedScope.split(" ").filter(Boolean) }, expiresAt: (now + accessTokenLifetime) * 1000 });
    secrets.push(accessToken, refreshToken, idToken);
    const body = {
      token_type: "Bearer",
      scope: grantedScope,
      expires_in: accessTokenLifetime,
      ext_expires_in: accessTokenLifetime,
      access_token: accessToken,
      refresh_token: refreshToken,
      id_token: idToken,
      client_info: base64UrlJson({ uid: user.oid, utid: user.tid }),
    };
    send(response, record, 200, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", Pragma: "no-cache" }, JSON.stringify(body));
  }

  function clientCredentials(response: ServerResponse, record: RecordedIdentityRequest, tenant: string, client: RegisteredClient, scope: string): void {
    if (client.homeTenantId === undefined || tenant.toLowerCase() !== client.homeTenantId.toLowerCase()) {
      return sendOAuthError(response, record, 400, "unauthorized_client", 700016, `Application with identifier '${client.clientId}' was not found in the directory '${tenant}'. The client-credentials grant needs the tenant the app is registered in.`);
    }
    const scopes = scope.split(" ").filter(Boolean);
    if (scopes.length !== 1 || !scopes[0].endsWith("/.default")) {
      return sendOAuthError(response, record, 400, "invalid_scope", 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }
    const resource = scopes[0].slice(0, -"/.default".length);
    if (!graphResources.has(resource)) {
      return sendOAuthError(response, record, 400, "invalid_resource", 500011, `The resource principal named ${resource} was not found in the tenant named ${tenant}.`);
    }
    const now = Math.floor(Date.now() / 1000);
    const roles = [...(client.applicationPermissions ?? [])];
    const claims = { aud: resource, iss: `${origin}/${client.homeTenantId}/v2.0`, appid: client.clientId, tid: client.homeTenantId, roles, iat: now, nbf: now, exp: now + accessTokenLifetime, uti: randomUUID() };
    const signingInput = `${base64UrlJson({ typ: "JWT", alg: "HS256", kid: "emulator" })}.${base64UrlJson(claims)}`;
    const accessToken = `${signingInput}.${createHmac("sha256", idTokenKey).update(signingInput).digest("base64url")}`;
    accessTokens.set(accessToken, { principal: { kind: "app", appId: client.clientId, tenantId: client.homeTenantId, roles }, expiresAt: (now + accessTokenLifetime) * 1000 });
    secrets.push(accessToken);
    const body = { token_type: "Bearer", expires_in: accessTokenLifetime, ext_expires_in: accessTokenLifetime, access_token: accessToken };
    send(response, record, 200, { "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", Pragma: "no-cache" }, JSON.stringify(body));
  }

  function token(response: ServerResponse, record: RecordedIdentityRequest, request: IncomingMessage, tenant: string, form: URLSearchParams): void {
    const failure = failures.shift();
    if (failure) {
      const error = failure.status === 429 ? "throttled" : "temporarily_unavailable";
      return sendOAuthError(response, record, failure.status, error, failure.status === 429 ? 50196 : 90033, "The server is busy; retry after the Retry-After delay.", {
        "Retry-After": String(failure.retryAfterSeconds),
      });
    }
    if (!(request.headers["content-type"] ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) {
      return sendOAuthError(response, record, 400, "invalid_request", 900144, "The request body must be application/x-www-form-urlencoded.");
    }
    const clientId = form.get("client_id") ?? "";
    const client = clients.get(clientId);
    if (!client) return sendOAuthError(response, record, 400, "unauthorized_client", 700016, `Application with identifier '${clientId}' was not found in the directory.`);
    const assertion = form.get("client_assertion");
    if (assertion !== null) {
      if (form.get("client_assertion_type") !== JWT_BEARER) {
        return sendOAuthError(response, record, 400, "invalid_request", 700019, `client_assertion_type must be '${JWT_BEARER}'.`);
      }
      const tokenEndpoint = `${origin}/${tenant}/oauth2/v2.0/token`;
      const failure = checkClientAssertion(assertion, client, tokenEndpoint, (issuer) => (managedIdentity && issuer.startsWith(`${origin}/`) ? managedIdentity.signingKey : undefined));
      if (failure) return sendOAuthError(response, record, 401, "invalid_client", failure.aadsts, failure.message);
    } else if (form.get("client_secret") === null) {
      return sendOAuthError(response, record, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    } else if (client.clientSecret === undefined || form.get("client_secret") !== client.clientSecret) {
      return sendOAuthError(response, record, 401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.");
    }
    const scope = form.get("scope") ?? "";
    if (scope.trim() === "") return sendOAuthError(response, record, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.");
    const grantType = form.get("grant_type");
    if (grantType === "client_credentials") return clientCredentials(response, record, tenant, client, scope);
    if (grantType === "authorization_code") {
      const code = codes.get(form.get("code") ?? "");
      if (!code) return sendOAuthError(response, record, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid: the authorization code is unknown.");
      if (code.redeemed) return sendOAuthError(response, record, 400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.");
      // An attempt that passed client authentication consumes the code, whatever else is wrong with it.
      code.redeemed = true;
      if (code.clientId !== clientId) return sendOAuthError(response, record, 400, "invalid_grant", 70000, "The provided authorization code was issued to a different client.");
      if (Date.now() >= code.expiresAt) return sendOAuthError(response, record, 400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity.");
      if (form.get("redirect_uri") !== code.redirectUri) {
        return sendOAuthError(response, record, 400, "invalid_grant", 500117, "The reply uri specified in the request does not match the reply uri used in the authorization request.");
      }
      const verifier = form.get("code_verifier") ?? "";
      if (verifier === "") return sendOAuthError(response, record, 400, "invalid_grant", 501491, "The request must contain code_verifier because the authorization request carried a code_challenge.");
      if (s256(verifier) !== code.codeChallenge) {
        return sendOAuthError(response, record, 400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.");
      }
      const nonce = substituteNextNonce ? `substituted-${randomBytes(16).toString("base64url")}` : code.nonce;
      substituteNextNonce = false;
      return issueTokens(response, record, clientId, code.user, scope, nonce);
    }
    if (grantType === "refresh_token") {
      const stored = refreshTokens.get(form.get("refresh_token") ?? "");
      if (!stored || stored.revoked || stored.clientId !== clientId) {
        return sendOAuthError(response, record, 400, "invalid_grant", 70000, "The provided grant is invalid or malformed: the refresh token was revoked or does not belong to this client.");
      }
      return issueTokens(response, record, clientId, stored.user, scope, undefined);
    }
    sendOAuthError(response, record, 400, "unsupported_grant_type", 70003, `The app requested an unsupported grant type '${grantType ?? ""}'.`);
  }

  const server = await listenHttpsOnLoopback((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? "/", origin);
      const record: RecordedIdentityRequest = { method: request.method ?? "", path: url.pathname, query: Object.fromEntries(url.searchParams), status: 0 };
      requests.push(record);
      const segments = url.pathname.split("/").filter(Boolean);
      const tenant = segments[0] ?? "";
      const rest = segments.slice(1).join("/");
      if (!tenantAllowed(tenant)) {
        return sendOAuthError(response, record, 400, "invalid_tenant", 90002, `Tenant '${tenant}' not found.`);
      }
      if (request.method === "GET" && rest === "v2.0/.well-known/openid-configuration") return openIdConfiguration(response, record, tenant);
      if (request.method === "GET" && rest === "oauth2/v2.0/authorize") return authorize(response, record, tenant, url.searchParams);
      if (request.method === "POST" && (rest === "oauth2/v2.0/consent" || rest === "oauth2/v2.0/token")) {
        const form = new URLSearchParams((await readBody(request)).toString("utf8"));
        record.form = Object.fromEntries(form);
        if (rest === "oauth2/v2.0/consent") return consent(response, record, form);
        return token(response, record, request, tenant, form);
      }
      send(response, record, 404, { "Content-Type": "text/plain" }, "Not found");
    })().catch((error: Error) => {
      response.writeHead(500, { "Content-Type": "text/plain" }).end(`emulator failure: ${error.message}`);
    });
  });
  origin = server.origin;
  if (options.managedIdentities && options.managedIdentities.length > 0) {
    managedIdentity = await startManagedIdentityEndpoint({ identities: options.managedIdentities, authorityOrigin: origin });
  }

  return {
    origin,
    authorityHost: `localhost:${server.port}`,
    requests,
    issuedSecrets: () => [...secrets],
    consentDecisions: () => [...decisions],
    tokenRequestCount: (grantType) => requests.filter((entry) => entry.path.endsWith("/oauth2/v2.0/token") && (grantType === undefined || entry.form?.grant_type === grantType)).length,
    signInAs: (user) => {
      currentUser = user;
    },
    revokeRefreshTokens: (username) => {
      for (const stored of refreshTokens.values()) if (stored.user.username === username) stored.revoked = true;
    },
    failNextTokenRequests: (count, failure) => {
      for (let index = 0; index < count; index++) failures.push(failure);
    },
    substituteNonceOnNextCodeRedemption: () => {
      substituteNextNonce = true;
    },
    describeAccessToken: (token) => {
      const issued = accessTokens.get(token);
      return issued && Date.now() < issued.expiresAt ? issued.principal : undefined;
    },
    managedIdentity,
    close: async () => {
      await managedIdentity?.close();
      await server.close();
    },
  };
}

const htmlHeaders = { "Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store" };
