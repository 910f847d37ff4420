import { randomBytes, randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import { listenHttpsOnLoopback, readBody } from "../identity/loopbackHttpsServer";

/**
 * Azure Key Vault secrets data plane for offline tests, strict per the REST reference: the 401 challenge is sent
 * before any request body is read, api-version is required, every PUT makes a new version, unknown names are 404
 * SecretNotFound, RBAC denials are 403 ForbiddenByRbac, values over 25 KB are rejected, and 429 carries Retry-After.
 * It answers on https://localhost:PORT but names secrets with the production-shaped vault URL it was given.
 */
export const VAULT_SCOPE = "https://vault.azure.net/.default";
export const SECRET_VALUE_MAX_BYTES = 25 * 1024;
const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;

export type VaultRole = "secretsOfficer" | "secretsUser" | "none";

export interface RecordedVaultRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  authorized: boolean;
  /** Bytes of body read; 0 for requests answered before their body was read. */
  bodyBytes: number;
  status: number;
}

interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  created: number;
}

export interface KeyVaultEmulator {
  origin: string;
  /** Production-shaped URL the client is configured with, e.g. https://onedrive-test.vault.azure.net */
  vaultUrl: string;
  tenantId: string;
  requests: RecordedVaultRequest[];
  /** Stands in for the managed identity: records every getToken call and issues tokens only this vault accepts. */
  credential: TokenCredential & { calls: Array<{ scopes: string[]; tenantId?: string }> };
  versions(name: string): SecretVersion[];
  latestValue(name: string): string | undefined;
  setRole(role: VaultRole): void;
  throttleNext(count: number, retryAfterSeconds: number): void;
  close(): Promise<void>;
}

export async function startKeyVaultEmulator(options: { vaultUrl?: string; tenantId?: string } = {}): Promise<KeyVaultEmulator> {
  const vaultUrl = (options.vaultUrl ?? "https://onedrive-test.vault.azure.net").replace(/\/+$/, "");
  const tenantId = options.tenantId ?? "72f988bf-86f1-41af-91ab-2d7cd011db47";
  const secrets = new Map<string, SecretVersion[]>();
  const tokens = new Map<string, string>();
  const requests: RecordedVaultRequest[] = [];
  let role: VaultRole = "secretsOfficer";
  let throttled: number[] = [];

  const credentialCalls: Array<{ scopes: string[]; tenantId?: string }> = [];
  const credential = {
    calls: credentialCalls,
    async getToken(scopes: string | string[], tokenOptions?: GetTokenOptions): Promise<AccessToken> {
      const list = Array.isArray(scopes) ? scopes : [scopes];
      credentialCalls.push({ scopes: list, tenantId: tokenOptions?.tenantId });
      const token = `kv-token.${randomBytes(24).toString("base64url")}`;
      tokens.set(token, list.join(" "));
      return { token, expiresOnTimestamp: Date.now() + 3600_000 };
    },
  };

  function json(response: ServerResponse, record: RecordedVaultRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
    record.status = status;
    response.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "x-ms-request-id": randomUUID(), ...headers }).end(JSON.stringify(body));
  }

  function error(response: ServerResponse, record: RecordedVaultRequest, status: number, code: string, message: string, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}): void {
    json(response, record, status, { error: { code, message, ...extra } }, headers);
  }

  function bundle(name: string, entry: SecretVersion): unknown {
    return {
      value: entry.value,
      id: `${vaultUrl}/secrets/${name}/${entry.version}`,
      ...(entry.contentType !== undefined ? { contentType: entry.contentType } : {}),
      ...(entry.tags !== undefined ? { tags: entry.tags } : {}),
      attributes: { enabled: true, created: entry.created, updated: entry.created, recoveryLevel: "Recoverable+Purgeable", recoverableDays: 90 },
    };
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? "/", "https://localhost");
    const authorization = request.headers.authorization ?? "";
    const token = authorization.startsWith("Bearer ") ? authorization.slice(7) : "";
    const authorized = tokens.get(token) === VAULT_SCOPE;
    const record: RecordedVaultRequest = { method: request.method ?? "", path: url.pathname, query: Object.fromEntries(url.searchParams), authorized, bodyBytes: 0, status: 0 };
    requests.push(record);

    if (!authorized) {
      // Answer before touching the body, as Key Vault does; the SDK sends its first request body-less for this.
      error(response, record, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.", {}, {
        "WWW-Authenticate": `Bearer authorization="https://login.windows.net/${tenantId}", resource="https://vault.azure.net"`,
      });
      request.resume();
      return;
    }
    if (throttled.length > 0) {
      const retryAfter = throttled.shift() as number;
      request.resume();
      return error(response, record, 429, "Throttled", "Request was not processed because too many requests were received. Reason: Secrets transactions exceeded.", {}, { "Retry-After": String(retryAfter) });
    }
    if (!url.searchParams.get("api-version")) {
      request.resume();
      return error(response, record, 400, "BadParameter", "The request URI contains an invalid or missing api-version parameter.");
    }
    const match = /^\/secrets\/([^/]+)(?:\/([^/]*))?\/?$/.exec(url.pathname);
    if (!match) {
      request.resume();
      return error(response, record, 404, "NotFound", `The requested path ${url.pathname} is not supported.`);
    }
    const name = decodeURIComponent(match[1]);
    const version = match[2] ? decodeURIComponent(match[2]) : "";
    if (role === "none" || (role === "secretsUser" && request.method !== "GET")) {
      request.resume();
      const action = request.method === "GET" ? "Microsoft.KeyVault/vaults/secrets/getSecret/action" : "Microsoft.KeyVault/vaults/secrets/setSecret/action";
      return error(response, record, 403, "Forbidden", `Caller is not authorized to perform action on resource. If role assignments were recently changed, please wait several minutes for role assignments to become effective. Action: '${action}'`, {
        innererror: { code: "ForbiddenByRbac" },
      });
    }
    if (request.method === "GET") {
      request.resume();
      const versions = secrets.get(name.toLowerCase()) ?? [];
      const entry = version === "" ? versions[versions.length - 1] : versions.find((candidate) => candidate.version === version);
      if (!entry) {
        return error(response, record, 404, "SecretNotFound", `A secret with (name/id) ${name}${version ? `/${version}` : ""} was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.`);
      }
      return json(response, record, 200, bundle(name, entry));
    }
    if (request.method === "PUT") {
      const body = await readBody(request);
      record.bodyBytes = body.length;
      if (version !== "") return error(response, record, 405, "MethodNotAllowed", "PUT on a secret version is not supported; PUT /secrets/{name} creates a version.");
      if (!SECRET_NAME.test(name)) return error(response, record, 400, "BadParameter", `The secret name '${name}' is invalid: use 1-127 letters, digits and dashes.`);
      let parsed: { value?: unknown; contentType?: unknown; tags?: unknown };
      try {
        parsed = JSON.parse(body.toString("utf8")) as typeof parsed;
      } catch {
        return error(response, record, 400, "BadParameter", "The request body is not valid JSON.");
      }
      if (typeof parsed.value !== "string") return error(response, record, 400, "BadParameter", "Property 'value' is required and must be a string.");
      if (Buffer.byteLength(parsed.value, "utf8") > SECRET_VALUE_MAX_BYTES) {
        return error(response, record, 400, "BadParameter", `Secret value exceeds the maximum size of ${SECRET_VALUE_MAX_BYTES} bytes.`);
      }
      if (parsed.contentType !== undefined && (typeof parsed.contentType !== "string" || parsed.contentType.length > 255)) {
        return error(response, record, 400, "BadParameter", "contentType must be a string of at most 255 characters.");
      }
      const tags = parsed.tags as Record<string, string> | undefined;
      if (tags !== undefined && (typeof tags !== "object" || Object.keys(tags).length > 15 || Object.values(tags).some((value) => typeof value !== "string" || value.length > 256))) {
        return error(response, record, 400, "BadParameter", "tags: at most 15, each value a string of at most 256 characters.");
      }
      const entry: SecretVersion = {
        version: randomBytes(16).toString("hex"),
        value: parsed.value,
        contentType: parsed.contentType as string | undefined,
        tags,
        created: Math.floor(Date.now() / 1000),
      };
      const key = name.toLowerCase();
      secrets.set(key, [...(secrets.get(key) ?? []), entry]);
      return json(response, record, 200, bundle(name, entry));
    }
    request.resume();
    error(response, record, 405, "MethodNotAllowed", `${request.method} is not supported on secrets by this emulator.`);
  }

  const server = await listenHttpsOnLoopback((request, response) => {
    handle(request, response).catch((failure: Error) => {
      response.writeHead(500, { "Content-Type": "text/plain" }).end(`emulator failure: ${failure.message}`);
    });
  });

  return {
    origin: server.origin,
    vaultUrl,
    tenantId,
    requests,
    credential,
    versions: (name) => [...(secrets.get(name.toLowerCase()) ?? [])],
    latestValue: (name) => secrets.get(name.toLowerCase())?.at(-1)?.value,
    setRole: (next) => {
      role = next;
    },
    throttleNext: (count, retryAfterSeconds) => {
      throttled = [...throttled, ...Array.from({ length: count }, () => retryAfterSeconds)];
    },
    close: () => server.close(),
  };
}
