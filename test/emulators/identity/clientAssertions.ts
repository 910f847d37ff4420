import { constants, createHash, KeyObject, verify, X509Certificate } from "node:crypto";

/**
 * How the identity platform checks a `client_assertion` (private_key_jwt), as learn.microsoft.com documents it
 * ("Certificate credentials" and "Workload identity federation"): an assertion whose `iss` is the client id is signed
 * by one of the app registration's certificates; any other assertion is a token from an external issuer that must
 * match one of the registration's federated identity credentials exactly (issuer, subject, audience; case-sensitive).
 *
 * Replay of a `jti` is not refused: the documents ask only that the value be unique, and MSAL itself presents the
 * same certificate assertion again for up to ten minutes (msal-node ClientAssertion.getJwt).
 */

export interface FederatedCredential {
  issuer: string;
  subject: string;
  audiences: string[];
}

export interface AssertionClient {
  clientId: string;
  /** PEM of each certificate uploaded to the registration (public part only). */
  certificates?: string[];
  federatedCredentials?: FederatedCredential[];
}

/** An AADSTS failure the token endpoint answers with (the status is always 401 invalid_client, as Entra answers). */
export interface AssertionFailure {
  aadsts: number;
  message: string;
}

export const JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

interface ParsedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

export function parseJwt(token: string): ParsedJwt | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8")) as unknown;
    const claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8")) as unknown;
    if (typeof header !== "object" || header === null || typeof claims !== "object" || claims === null) return undefined;
    return { header: header as Record<string, unknown>, claims: claims as Record<string, unknown>, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], "base64url") };
  } catch {
    return undefined;
  }
}

/** RS256 (PKCS#1 v1.5) or PS256 (PSS, salt as long as the digest, as RFC 7518 §3.5 requires). */
export function verifyRsaSignature(jwt: ParsedJwt, key: KeyObject): boolean {
  const alg = jwt.header.alg;
  if (alg !== "RS256" && alg !== "PS256") return false;
  const padding = alg === "PS256" ? { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 } : { padding: constants.RSA_PKCS1_PADDING };
  return verify("sha256", Buffer.from(jwt.signingInput), { key, ...padding }, jwt.signature);
}

/**
 * Tolerated clock difference, as token validation in Microsoft's identity stack allows by default (5 minutes); MSAL
 * itself rounds `nbf` to the nearest second, so it can lie half a second ahead of the server's clock.
 */
const CLOCK_SKEW_SECONDS = 300;

function timeFailure(claims: Record<string, unknown>, nowSeconds: number): AssertionFailure | undefined {
  const exp = claims.exp;
  const nbf = claims.nbf;
  if (typeof exp !== "number" || exp + CLOCK_SKEW_SECONDS <= nowSeconds || (typeof nbf === "number" && nbf - CLOCK_SKEW_SECONDS > nowSeconds)) {
    const from = typeof nbf === "number" ? new Date(nbf * 1000).toISOString() : "1970-01-01T00:00:00.000Z";
    const until = typeof exp === "number" ? new Date(exp * 1000).toISOString() : "(none)";
    return { aadsts: 700024, message: `Client assertion is not within its valid time range. Current time: ${new Date(nowSeconds * 1000).toISOString()}, assertion valid from ${from}, expiry time of assertion ${until}.` };
  }
  return undefined;
}

function certificateFor(client: AssertionClient, header: Record<string, unknown>): X509Certificate | undefined {
  const sha256 = typeof header["x5t#S256"] === "string" ? header["x5t#S256"] : undefined;
  const sha1 = typeof header.x5t === "string" ? header.x5t : undefined;
  for (const pem of client.certificates ?? []) {
    const certificate = new X509Certificate(pem);
    if (sha256 !== undefined && createHash("sha256").update(certificate.raw).digest("base64url") === sha256) return certificate;
    if (sha256 === undefined && sha1 !== undefined && createHash("sha1").update(certificate.raw).digest("base64url") === sha1) return certificate;
  }
  return undefined;
}

function checkCertificateAssertion(jwt: ParsedJwt, client: AssertionClient, tokenEndpoint: string, nowSeconds: number): AssertionFailure | undefined {
  const { claims, header } = jwt;
  if (claims.aud !== tokenEndpoint) {
    return { aadsts: 700023, message: `Client assertion audience claim does not match Realm issuer. Expected '${tokenEndpoint}', found '${String(claims.aud)}'.` };
  }
  if (claims.sub !== client.clientId) {
    return { aadsts: 700021, message: `Client assertion application identifier doesn't match 'client_id' parameter.` };
  }
  const timing = timeFailure(claims, nowSeconds);
  if (timing) return timing;
  if (typeof claims.jti !== "string" || claims.jti === "") return { aadsts: 50027, message: "JWT token is invalid or malformed: the jti claim is missing." };
  const certificate = certificateFor(client, header);
  if (!certificate) {
    const thumbprint = String(header["x5t#S256"] ?? header.x5t ?? "(none)");
    return { aadsts: 700027, message: `Client assertion failed signature validation. (Reason - The key was not found., Thumbprint of key used by client: '${thumbprint}'.)` };
  }
  if (new Date(certificate.validTo).getTime() <= nowSeconds * 1000) {
    return { aadsts: 700027, message: "Client assertion failed signature validation. (Reason - The certificate has expired.)" };
  }
  if (!verifyRsaSignature(jwt, certificate.publicKey)) {
    return { aadsts: 700027, message: "Client assertion failed signature validation. (Reason - The signature is invalid or the algorithm is not RS256 or PS256.)" };
  }
  return undefined;
}

function checkFederatedAssertion(jwt: ParsedJwt, client: AssertionClient, issuerKey: (issuer: string) => KeyObject | undefined, nowSeconds: number): AssertionFailure | undefined {
  const { claims } = jwt;
  const issuer = String(claims.iss);
  const subject = String(claims.sub);
  const audiences = Array.isArray(claims.aud) ? claims.aud.map(String) : [String(claims.aud)];
  const credentials = client.federatedCredentials ?? [];
  const byIssuer = credentials.filter((credential) => credential.issuer === issuer);
  if (byIssuer.length === 0) {
    return { aadsts: 700211, message: `No matching federated identity record found for presented assertion issuer '${issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.` };
  }
  const bySubject = byIssuer.filter((credential) => credential.subject === subject);
  if (bySubject.length === 0) {
    return { aadsts: 700213, message: `No matching federated identity record found for presented assertion subject '${subject}'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.` };
  }
  if (!bySubject.some((credential) => credential.audiences.some((audience) => audiences.includes(audience)))) {
    return { aadsts: 700212, message: `No matching federated identity record found for presented assertion audience '${audiences.join(",")}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.` };
  }
  const key = issuerKey(issuer);
  if (!key || !verifyRsaSignature(jwt, key)) {
    return { aadsts: 700027, message: "Client assertion failed signature validation. (Reason - The key was not found in the issuer's signing keys.)" };
  }
  return timeFailure(claims, nowSeconds);
}

/**
 * Checks one assertion presented by `client`. `issuerKey` returns the signing key of an external issuer this emulator
 * knows (its own managed-identity endpoint), as the real service would fetch the issuer's keys.
 */
export function checkClientAssertion(
  assertion: string,
  client: AssertionClient,
  tokenEndpoint: string,
  issuerKey: (issuer: string) => KeyObject | undefined,
  nowSeconds = Math.floor(Date.now() / 1000),
): AssertionFailure | undefined {
  const jwt = parseJwt(assertion);
  if (!jwt) return { aadsts: 50027, message: "JWT token is invalid or malformed." };
  if (jwt.claims.iss === client.clientId) return checkCertificateAssertion(jwt, client, tokenEndpoint, nowSeconds);
  return checkFederatedAssertion(jwt, client, issuerKey, nowSeconds);
}
