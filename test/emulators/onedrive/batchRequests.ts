import { ServiceError } from "./exchange";

/**
 * The body of a Graph JSON batch (`POST /v1.0/$batch`), parsed and checked as a whole before any part runs: a
 * malformed batch is one 400 and nothing in it is acted on (learn.microsoft.com/graph/json-batching).
 */

export const MAX_BATCH_REQUESTS = 20;
/** Graph refuses request bodies over 4 MiB; a batch is one request. */
export const MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024;

/** One validated part of a batch. */
export interface BatchPart {
  /** As the client spelled it; sub-responses echo it. */
  id: string;
  /** Ids are not case-sensitive: the lowercased id is what uniqueness and dependsOn compare. */
  key: string;
  method: string;
  /** Path and query under the Graph origin: "/v1.0" + the part's url. */
  url: string;
  /** Lowercased names. */
  headers: Record<string, string>;
  body: Buffer | undefined;
  /** The body came base64-encoded (non-JSON Content-Type); the service then answers it in base64 too. */
  base64Body: boolean;
  /** Keys of the parts that must finish first. */
  dependsOn: string[];
}

const PART_PROPERTIES: ReadonlySet<string> = new Set(["id", "method", "url", "headers", "body", "dependsOn"]);
const STANDARD_BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const URL_SAFE_BASE64 = /^[A-Za-z0-9_-]*={0,2}$/;

export function isBatchPath(rawPathname: string): boolean {
  return rawPathname === "/v1.0/$batch" || rawPathname.toLowerCase() === "/v1.0/%24batch";
}

export function mediaTypeOf(contentType: string): string {
  return contentType.split(";")[0].trim().toLowerCase();
}

export function isJsonMediaType(mediaType: string): boolean {
  return mediaType === "application/json" || /^[a-z]+\/[^/\s]+\+json$/.test(mediaType);
}

function invalid(message: string): ServiceError {
  return new ServiceError(400, "invalidRequest", `Invalid batch: ${message}`);
}

export function parseBatch(bodyText: string): BatchPart[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bodyText);
  } catch {
    throw invalid("the body is not valid JSON.");
  }
  if (!isObject(parsed)) throw invalid("the body must be a JSON object with a \"requests\" array.");
  const extra = Object.keys(parsed).filter((key) => key !== "requests");
  if (extra.length > 0) throw invalid(`unknown top-level properties ${extra.join(", ")}; the body holds only "requests".`);
  const requests = parsed.requests;
  if (!Array.isArray(requests)) throw invalid("the body must be a JSON object with a \"requests\" array.");
  if (requests.length === 0) throw invalid("\"requests\" is empty; send 1 to 20 requests.");
  if (requests.length > MAX_BATCH_REQUESTS) {
    throw invalid(`${requests.length} requests; a batch holds at most ${MAX_BATCH_REQUESTS}.`);
  }
  const parts = requests.map((request: unknown, index: number) => parsePart(request, index));
  const keys = new Map<string, BatchPart>();
  for (const part of parts) {
    const clash = keys.get(part.key);
    if (clash !== undefined) {
      throw invalid(`the id ${JSON.stringify(part.id)} is used twice (ids are not case-sensitive: ${JSON.stringify(clash.id)}).`);
    }
    keys.set(part.key, part);
  }
  for (const part of parts) {
    for (const key of part.dependsOn) {
      if (key === part.key) throw invalid(`request ${JSON.stringify(part.id)} depends on itself.`);
      if (!keys.has(key)) throw invalid(`request ${JSON.stringify(part.id)} depends on an id that is not in the batch.`);
    }
  }
  assertNoCycle(parts, keys);
  return parts;
}

function parsePart(request: unknown, index: number): BatchPart {
  const where = `requests[${index}]`;
  if (!isObject(request)) throw invalid(`${where} is not an object.`);
  const unknown = Object.keys(request).filter((key) => !PART_PROPERTIES.has(key));
  if (unknown.length > 0) throw invalid(`${where} has unknown properties ${unknown.join(", ")}.`);
  const { id, method, url } = request;
  if (id === undefined) throw invalid(`${where} has no "id".`);
  if (typeof id !== "string" || id === "") throw invalid(`${where}.id must be a non-empty string, not ${JSON.stringify(id)}.`);
  const named = `request ${JSON.stringify(id)}`;
  if (typeof method !== "string" || method === "") throw invalid(`${named} has no "method".`);
  if (typeof url !== "string" || url === "") throw invalid(`${named} has no "url".`);
  const headers = parseHeaders(request.headers, named);
  const { body, base64Body } = parseBody(request, headers, named);
  return {
    id,
    key: id.toLowerCase(),
    method,
    url: partUrl(url, named),
    headers,
    body,
    base64Body,
    dependsOn: parseDependsOn(request.dependsOn, named),
  };
}

function partUrl(url: string, named: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(url) || url.startsWith("//")) {
    throw invalid(`${named} has an absolute url; give it relative to the version root, e.g. "/me/drive/root".`);
  }
  const relative = url.startsWith("/") ? url : `/${url}`;
  const segments = relative.split("?")[0].split("/");
  if (segments.some((segment) => segment === "$batch" || segment.toLowerCase() === "%24batch")) {
    throw invalid(`${named} targets $batch; batches do not nest.`);
  }
  return `/v1.0${relative}`;
}

function parseHeaders(value: unknown, named: string): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) throw invalid(`${named}: "headers" must be an object of name/value strings.`);
  const headers: Record<string, string> = {};
  for (const [name, headerValue] of Object.entries(value)) {
    if (typeof headerValue !== "string") throw invalid(`${named}: header ${name} must be a string.`);
    headers[name.toLowerCase()] = headerValue;
  }
  return headers;
}

function parseBody(request: Record<string, unknown>, headers: Record<string, string>, named: string): { body: Buffer | undefined; base64Body: boolean } {
  if (!("body" in request)) return { body: undefined, base64Body: false };
  const contentType = headers["content-type"];
  if (contentType === undefined || contentType.trim() === "") {
    throw invalid(`${named} has a body but no Content-Type in its "headers".`);
  }
  const body = request.body;
  if (isJsonMediaType(mediaTypeOf(contentType))) {
    if (body === null || typeof body !== "object") {
      throw invalid(`${named} has a JSON Content-Type, so its body must be a JSON object or array.`);
    }
    return { body: Buffer.from(JSON.stringify(body), "utf8"), base64Body: false };
  }
  if (typeof body !== "string" || !isBase64(body)) {
    throw invalid(`${named} has the non-JSON Content-Type '${contentType}', so its body must be a base64 string (standard or URL-safe alphabet).`);
  }
  return { body: Buffer.from(body, "base64"), base64Body: true };
}

function isBase64(text: string): boolean {
  if (!STANDARD_BASE64.test(text) && !URL_SAFE_BASE64.test(text)) return false;
  if (text.endsWith("=")) return text.length % 4 === 0;
  return text.length % 4 !== 1;
}

function parseDependsOn(value: unknown, named: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((entry) => typeof entry !== "string")) {
    throw invalid(`${named}: "dependsOn" must be an array of request ids.`);
  }
  return (value as string[]).map((entry) => entry.toLowerCase());
}

function assertNoCycle(parts: BatchPart[], keys: Map<string, BatchPart>): void {
  const done = new Set<string>();
  const onPath = new Set<string>();
  const visit = (part: BatchPart): void => {
    if (done.has(part.key)) return;
    if (onPath.has(part.key)) throw invalid(`the dependsOn of request ${JSON.stringify(part.id)} forms a cycle.`);
    onPath.add(part.key);
    for (const key of part.dependsOn) visit(keys.get(key) as BatchPart);
    onPath.delete(part.key);
    done.add(part.key);
  };
  for (const part of parts) visit(part);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
