import type { GraphErrorBody, GraphInnerError } from "./graphTypes";

/**
 * Errors from Graph and from upload URLs. Every message names the method, the URL path (never its query: upload
 * URLs carry a credential in `tempauth=`), the status, the service error code and the request id, and never a
 * token or an Authorization header.
 */

/** Which endpoint answered: the Graph API, or an upload session URL on the storage host. */
export type GraphService = "Graph" | "Upload session";

export interface GraphErrorInit {
  service?: GraphService;
  method: string;
  /** Full request URL; the query string is dropped here. */
  url: string;
  status: number;
  headers?: { get(name: string): string | undefined };
  bodyText?: string;
  /** Sent client-request-id, used when the response does not echo one. */
  clientRequestId?: string;
  retryAfterMs?: number;
}

export class GraphError extends Error {
  override readonly name = "GraphError";
  readonly status: number;
  /** Top-level `error.code` (e.g. "nameAlreadyExists"); "" when the body carried none. */
  readonly code: string;
  /** Nested `innererror.code` values, outermost first (e.g. ["fragmentOverlap"]). */
  readonly innerCodes: string[];
  readonly serviceMessage: string;
  readonly requestId?: string;
  readonly clientRequestId?: string;
  /** Delay the service asked for (Retry-After and friends), when it asked. */
  readonly retryAfterMs?: number;
  /** Scheme, host and path only. */
  readonly url: string;
  readonly method: string;

  constructor(init: GraphErrorInit) {
    const parsed = parseErrorBody(init.bodyText);
    const url = urlWithoutQuery(init.url);
    const requestId =
      headerValue(init.headers, "request-id") ??
      headerValue(init.headers, "x-ms-request-id") ??
      headerValue(init.headers, "sprequestguid") ??
      parsed.requestId;
    const clientRequestId = headerValue(init.headers, "client-request-id") ?? parsed.clientRequestId ?? init.clientRequestId;
    const codeText = [parsed.code, ...parsed.innerCodes].filter((code) => code !== "").join("/");
    const hint = hintFor(init.service ?? "Graph", init.status, [parsed.code, ...parsed.innerCodes]);
    super(
      `${init.service ?? "Graph"} ${init.method} ${pathForMessage(url)} failed: ${init.status}` +
        (codeText ? ` ${codeText}` : "") +
        (requestId ? ` (request-id ${requestId})` : "") +
        (parsed.message ? `: ${parsed.message}` : "") +
        (hint ? ` — ${hint}` : ""),
    );
    this.status = init.status;
    this.code = parsed.code;
    this.innerCodes = parsed.innerCodes;
    this.serviceMessage = parsed.message;
    this.requestId = requestId;
    this.clientRequestId = clientRequestId;
    this.retryAfterMs = init.retryAfterMs;
    this.url = url;
    this.method = init.method;
  }

  /** True when `code` is the error code or any inner code (the most specific code is the innermost). */
  hasCode(code: string): boolean {
    return this.code === code || this.innerCodes.includes(code);
  }
}

/**
 * A request that got no HTTP answer (reset, refused, timeout). It replaces the transport's error, whose request
 * object would carry the Authorization header and the full upload URL.
 */
export class GraphNetworkError extends Error {
  override readonly name = "GraphNetworkError";
  /** Node/undici error code, e.g. ECONNRESET, ETIMEDOUT. */
  readonly code: string;
  readonly url: string;
  readonly method: string;

  constructor(init: { service?: GraphService; method: string; url: string; code: string; detail: string }) {
    const url = urlWithoutQuery(init.url);
    super(`${init.service ?? "Graph"} ${init.method} ${pathForMessage(url)} got no response: ${init.code} ${scrubSecrets(init.detail)}`);
    this.code = init.code;
    this.url = url;
    this.method = init.method;
  }
}

const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ETIMEDOUT",
  "ESOCKETTIMEDOUT",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "ENETDOWN",
  "EHOSTUNREACH",
  "ERR_STREAM_PREMATURE_CLOSE",
]);

/**
 * True for failures where the request may simply be tried again: connection reset/refused/timed out, DNS hiccups,
 * undici's UND_ERR_* (except a caller's abort). Follows `cause` because fetch wraps them in "fetch failed".
 */
export function isTransientNetworkError(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current !== null && typeof current === "object"; depth++) {
    const candidate = current as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown };
    if (candidate.name === "AbortError") return false;
    if (candidate instanceof GraphError) return false;
    const code = typeof candidate.code === "string" ? candidate.code : "";
    if (TRANSIENT_NETWORK_CODES.has(code)) return true;
    if (code.startsWith("UND_ERR_") && code !== "UND_ERR_ABORTED") return true;
    if (typeof candidate.message === "string" && /socket hang up|other side closed/i.test(candidate.message)) return true;
    current = candidate.cause;
  }
  return false;
}

/** Scheme, host and path of a URL; the query and fragment go (upload URLs hold `tempauth=` there). */
export function urlWithoutQuery(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url.split(/[?#]/, 1)[0];
  }
}

/**
 * Upload URLs are opaque and may carry their credential in the path too (Personal: https://api.onedrive.com/rup/…),
 * so long path segments are cut before the URL goes into an error or a log.
 */
export function redactUploadUrl(uploadUrl: string): string {
  const withoutQuery = urlWithoutQuery(uploadUrl);
  try {
    const parsed = new URL(withoutQuery);
    const path = parsed.pathname
      .split("/")
      .map((segment) => (segment.length > 24 ? `${segment.slice(0, 8)}...` : segment))
      .join("/");
    return `${parsed.origin}${path}`;
  } catch {
    return withoutQuery;
  }
}

/** Removes anything token-like a service message or transport error might echo. */
export function scrubSecrets(text: string): string {
  return text
    .replace(/tempauth=[^&\s"']+/gi, "tempauth=REDACTED")
    .replace(/Bearer\s+[A-Za-z0-9\-._~+/]+=*/g, "Bearer REDACTED")
    .replace(/https?:\/\/[^\s"'<>]+/gi, (url) => redactUploadUrl(url));
}

function pathForMessage(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname;
  } catch {
    return url;
  }
}

function headerValue(headers: GraphErrorInit["headers"], name: string): string | undefined {
  const value = headers?.get(name);
  return value === undefined || value === "" ? undefined : value;
}

interface ParsedErrorBody {
  code: string;
  message: string;
  innerCodes: string[];
  requestId?: string;
  clientRequestId?: string;
}

const MAX_MESSAGE_LENGTH = 400;

function parseErrorBody(bodyText: string | undefined): ParsedErrorBody {
  const empty: ParsedErrorBody = { code: "", message: "", innerCodes: [] };
  if (!bodyText) return empty;
  let body: Partial<GraphErrorBody>;
  try {
    body = JSON.parse(bodyText) as Partial<GraphErrorBody>;
  } catch {
    // Gateways answer 502/503 with HTML; keep a short, scrubbed excerpt so the error still says something.
    return { ...empty, message: truncate(scrubSecrets(bodyText.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim())) };
  }
  const error = body?.error;
  if (!error || typeof error !== "object") return empty;
  const innerCodes: string[] = [];
  let requestId: string | undefined;
  let clientRequestId: string | undefined;
  let inner: GraphInnerError | undefined = error.innererror ?? error.innerError;
  for (let depth = 0; inner && typeof inner === "object" && depth < 10; depth++) {
    if (typeof inner.code === "string" && inner.code !== "") innerCodes.push(inner.code);
    requestId ??= typeof inner["request-id"] === "string" ? inner["request-id"] : undefined;
    clientRequestId ??= typeof inner["client-request-id"] === "string" ? inner["client-request-id"] : undefined;
    inner = inner.innererror ?? inner.innerError;
  }
  return {
    code: typeof error.code === "string" ? error.code : "",
    message: typeof error.message === "string" ? truncate(scrubSecrets(error.message)) : "",
    innerCodes,
    requestId,
    clientRequestId,
  };
}

function truncate(text: string): string {
  return text.length > MAX_MESSAGE_LENGTH ? `${text.slice(0, MAX_MESSAGE_LENGTH)}…` : text;
}

/** What the operator can do about the common failures. */
function hintFor(service: GraphService, status: number, codes: string[]): string | undefined {
  const has = (code: string): boolean => codes.includes(code);
  if (has("pathIsTooLong")) return "shorten the destination path to under 400 characters";
  if (has("invalidPath")) return "rename the file or folder: OneDrive does not allow this name";
  if (has("nameAlreadyExists")) return "an item with this name exists (or is being uploaded); choose conflict behavior replace or rename, or remove it";
  if (has("quotaLimitReached") || status === 507) return "the OneDrive is full; free space or raise the quota";
  if (has("resourceModified")) return "the item changed during the upload; start a new upload session";
  if (status === 401 && service === "Upload session") return "the upload URL's credential was refused (expired after 24 h, or an Authorization header was sent); start a new upload session";
  if (status === 401) return "the access token was refused; sign in again";
  if (status === 403) return "access denied; check the account's permissions (Files.ReadWrite) on the destination";
  if (status === 429 || status === 503) return "OneDrive is throttling; wait for Retry-After before sending more";
  return undefined;
}
