import { GraphError } from "./graphError";
import type { BatchSubRequest, BatchSubResponse } from "./graphTypes";
import { parseRetryAfterMs } from "./retryPolicy";

/**
 * Reading the answers of a JSON batch (https://learn.microsoft.com/graph/json-batching): bodies that may arrive as
 * base64 strings, headers without a fixed case, and errors that carry the sub-request's own status, code and
 * request id, as if it had been sent alone.
 */

/** The service's limit of requests in one batch. */
export const MAX_BATCH_REQUESTS = 20;

/**
 * The Graph endpoint answered `$batch` itself with "not here" (400/404/405/415/501 before any batch succeeded): a
 * national cloud or emulator without JSON batching. The caller sends the work through the single-request path.
 */
export class BatchUnsupportedError extends Error {
  override readonly name = "BatchUnsupportedError";
  constructor(override readonly cause: GraphError) {
    super(`Graph JSON batching is not available here (${cause.message}); files go one request at a time`);
  }
}

/** Statuses of the `$batch` request itself that mean the endpoint does not batch. */
export const BATCH_UNSUPPORTED_STATUSES: ReadonlySet<number> = new Set([400, 404, 405, 415, 501]);

export class SubResponseHeaders {
  private readonly byLowerName = new Map<string, string>();
  constructor(headers: Record<string, string> | undefined) {
    for (const [name, value] of Object.entries(headers ?? {})) {
      if (typeof value === "string") this.byLowerName.set(name.toLowerCase(), value);
    }
  }
  get(name: string): string | undefined {
    return this.byLowerName.get(name.toLowerCase());
  }
}

/** The body as text: a JSON body re-serialised, a base64 body decoded (the service base64s content uploads' answers). */
export function subResponseBodyText(response: BatchSubResponse): string | undefined {
  if (response.body === undefined || response.body === null) return undefined;
  if (typeof response.body === "string") return Buffer.from(response.body, "base64").toString("utf8");
  return JSON.stringify(response.body);
}

/** The body as JSON, whichever way it travelled. */
export function subResponseJson<T>(response: BatchSubResponse): T | undefined {
  if (response.body === undefined || response.body === null) return undefined;
  if (typeof response.body !== "string") return response.body as T;
  const text = subResponseBodyText(response) ?? "";
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`batch answer ${response.id} (HTTP ${response.status}) has a body that is neither JSON nor base64 JSON`);
  }
}

/** A failed sub-request as the GraphError it would have been alone. */
export function subResponseError(request: BatchSubRequest, response: BatchSubResponse, baseUrl: string, nowMs: number): GraphError {
  const headers = new SubResponseHeaders(response.headers);
  const bodyText = subResponseBodyText(response);
  const url = `${baseUrl}${request.url.startsWith("/") ? "" : "/"}${request.url}`;
  return new GraphError({ service: "Graph", method: request.method, url, status: response.status, headers, bodyText, retryAfterMs: parseRetryAfterMs(headers, nowMs) });
}
