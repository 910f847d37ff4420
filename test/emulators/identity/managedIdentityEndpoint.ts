import { createPrivateKey, generateKeyPairSync, KeyObject, randomBytes, randomUUID, sign } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

/**
 * The managed-identity endpoint App Service and Functions give an app (learn.microsoft.com "Managed identities for
 * App Service", REST protocol): plain http on the instance's loopback, found through IDENTITY_ENDPOINT, answering
 * `GET ?api-version=2019-08-01&resource=…[&client_id=…]` only with the header X-IDENTITY-HEADER equal to
 * IDENTITY_HEADER, and returning `{access_token, expires_on, resource, token_type, client_id}` with `expires_on` in
 * epoch seconds as a string. The tokens are RS256 JWTs that name the identity in `sub`/`oid` (its object id), which
 * is what a federated identity credential matches on.
 */

export interface EmulatedManagedIdentity {
  /** Client (application) id: what AZURE_CLIENT_ID names and `client_id` selects. */
  clientId: string;
  /** Object (principal) id: the `sub` of its tokens, the subject of a federated credential. */
  principalId: string;
  tenantId: string;
  /** The app's system-assigned identity, used when a request names no client_id; otherwise user-assigned. */
  systemAssigned?: boolean;
}

export interface ManagedIdentityRequestRecord {
  query: Record<string, string>;
  identityHeader?: string;
  status: number;
}

export interface ManagedIdentityEndpoint {
  /** The value App Service puts in IDENTITY_ENDPOINT. */
  endpoint: string;
  /** The value App Service puts in IDENTITY_HEADER. */
  header: string;
  requests: ManagedIdentityRequestRecord[];
  /** The issuer its tokens carry, `${authority origin}/{tenant}/v2.0`. */
  issuerFor(tenantId: string): string;
  signingKey: KeyObject;
  /** Signs claims as this endpoint would (for tests that present an expired or foreign assertion on purpose). */
  mint(claims: Record<string, unknown>): string;
  close(): Promise<void>;
}

const API_VERSION = "2019-08-01";

export async function startManagedIdentityEndpoint(options: {
  identities: EmulatedManagedIdentity[];
  authorityOrigin: string;
  tokenLifetimeSeconds?: number;
}): Promise<ManagedIdentityEndpoint> {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signingKey = createPrivateKey(privateKey.export({ type: "pkcs8", format: "pem" }));
  const header = randomBytes(24).toString("hex");
  const lifetime = options.tokenLifetimeSeconds ?? 24 * 3600;
  const requests: ManagedIdentityRequestRecord[] = [];
  const issuerFor = (tenantId: string) => `${options.authorityOrigin}/${tenantId}/v2.0`;
  const kid = randomBytes(8).toString("hex");

  const mint = (claims: Record<string, unknown>): string => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const signingInput = `${encode({ typ: "JWT", alg: "RS256", kid })}.${encode(claims)}`;
    return `${signingInput}.${sign("sha256", Buffer.from(signingInput), signingKey).toString("base64url")}`;
  };

  const answer = (response: ServerResponse, record: ManagedIdentityRequestRecord, status: number, body: unknown) => {
    record.status = status;
    response.writeHead(status, { "Content-Type": "application/json; charset=utf-8" }).end(JSON.stringify(body));
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", "http://127.0.0.1");
    const query = Object.fromEntries(url.searchParams);
    const presented = request.headers["x-identity-header"];
    const record: ManagedIdentityRequestRecord = { query, identityHeader: typeof presented === "string" ? presented : undefined, status: 0 };
    requests.push(record);
    if (request.method !== "GET" || url.pathname !== "/msi/token") return answer(response, record, 404, { statusCode: 404, message: "Not found" });
    if (record.identityHeader !== header) return answer(response, record, 401, { statusCode: 401, message: "The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER." });
    if (query["api-version"] !== API_VERSION) return answer(response, record, 400, { statusCode: 400, message: `Unsupported api-version '${query["api-version"] ?? ""}'.` });
    const resource = query.resource ?? "";
    if (resource === "") return answer(response, record, 400, { statusCode: 400, message: "The resource parameter is required." });
    const identity = query.client_id !== undefined
      ? options.identities.find((candidate) => candidate.clientId === query.client_id)
      : options.identities.find((candidate) => candidate.systemAssigned === true);
    if (!identity) return answer(response, record, 400, { statusCode: 400, message: `No managed identity with client id '${query.client_id ?? "(system-assigned)"}' is assigned to this app.` });
    const now = Math.floor(Date.now() / 1000);
    const token = mint({
      aud: resource,
      iss: issuerFor(identity.tenantId),
      sub: identity.principalId,
      oid: identity.principalId,
      azp: identity.clientId,
      tid: identity.tenantId,
      iat: now,
      nbf: now,
      exp: now + lifetime,
      uti: randomUUID(),
    });
    answer(response, record, 200, { access_token: token, expires_on: String(now + lifetime), resource, token_type: "Bearer", client_id: identity.clientId });
  };

  const server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}/msi/token`,
    header,
    requests,
    issuerFor,
    signingKey: publicKey,
    mint,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
