import {
  createEmptyPipeline,
  createHttpHeaders,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  type PipelineResponse,
  type RequestBodyType,
} from "@azure/core-rest-pipeline";
import { Readable } from "node:stream";
import { GraphError, redactUploadUrl } from "./graphError";
import type { DriveItem, UploadSessionStatusBody } from "./graphTypes";
import {
  clientRequestIdPolicy,
  defaultHttpClient,
  noAuthorizationPolicy,
  productUserAgent,
  requestTimeoutPolicy,
  sendThroughPipeline,
  userAgentPolicy,
} from "./httpPipeline";
import { defaultSleep, describeResponse, parseRetryAfterMs, retryPipelinePolicies, type RetryOptions } from "./retryPolicy";
import { throttlePolicy, ThrottleGate } from "./throttle";

/**
 * Requests to an upload session's uploadUrl: fragment PUTs, status GET, cancel DELETE. The URL carries its own
 * credential, so this pipeline has no token policy and strips any Authorization header (a bearer header there may
 * get 401, and the storage host must never see the Graph token).
 *
 * Fragment PUTs are never retried here: a PUT that failed may still have been stored, so only the engine, after
 * asking getStatus where the server stands, can decide what to send next. Status and cancel are idempotent and
 * retried per retryPolicy.
 */

export type FragmentResult =
  | { kind: "accepted"; nextExpectedRanges: string[]; expirationDateTime?: string }
  | { kind: "completed"; item: DriveItem; created: boolean };

export interface UploadSessionStatus {
  nextExpectedRanges: string[];
  expirationDateTime?: string;
}

export interface UploadSessionClientOptions {
  httpClient?: HttpClient;
  userAgentSuffix?: string;
  /** Retries of getStatus/cancel after the first attempt. Default 7. */
  maxRetries?: number;
  retry?: Omit<RetryOptions, "maxAttempts">;
  /** Permit http:// upload URLs (local test servers only). */
  allowInsecureConnection?: boolean;
  /** Timeout of one fragment PUT of so many bytes; default defaultFragmentTimeoutMs. */
  fragmentTimeoutMs?: (fragmentBytes: number) => number;
  /** Per-attempt timeout of status and cancel requests. Default 60 s. */
  controlTimeoutMs?: number;
  /** Shared by every request to upload URLs in the process. */
  throttle?: ThrottleGate;
}

export interface PutFragmentOptions {
  abortSignal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * One fragment PUT: a minute, plus two seconds a MiB (a 60 MiB fragment at 0.5 MiB/s), plus the time the server may
 * take to assemble the file after the last one. Far beyond a healthy PUT, short enough that a stalled one frees the
 * worker long before its invocation ends.
 */
export function defaultFragmentTimeoutMs(fragmentBytes: number): number {
  return 60_000 + Math.ceil(fragmentBytes / (1024 * 1024)) * 2_000;
}
const DEFAULT_CONTROL_TIMEOUT_MS = 60_000;

export class UploadSessionClient {
  private readonly httpClient: HttpClient;
  private readonly fragmentPipeline: Pipeline;
  private readonly controlPipeline: Pipeline;
  private readonly allowInsecureConnection: boolean;
  private readonly fragmentTimeoutMs: (fragmentBytes: number) => number;
  private readonly controlTimeoutMs: number;
  private readonly now: () => number;
  /** Held closed for every request to upload URLs of the process while the upload host asks to wait. */
  readonly throttle: ThrottleGate;

  constructor(options: UploadSessionClientOptions = {}) {
    this.httpClient = options.httpClient ?? defaultHttpClient();
    this.allowInsecureConnection = options.allowInsecureConnection ?? false;
    this.fragmentTimeoutMs = options.fragmentTimeoutMs ?? defaultFragmentTimeoutMs;
    this.controlTimeoutMs = options.controlTimeoutMs ?? DEFAULT_CONTROL_TIMEOUT_MS;
    this.now = options.retry?.now ?? Date.now;
    const userAgent = productUserAgent(options.userAgentSuffix);

    this.fragmentPipeline = createEmptyPipeline();
    this.fragmentPipeline.addPolicy(userAgentPolicy(userAgent));
    this.fragmentPipeline.addPolicy(clientRequestIdPolicy());
    const throttle = options.throttle ?? new ThrottleGate("Upload session", { now: this.now, sleep: options.retry?.sleep ?? defaultSleep });
    this.throttle = throttle;
    this.fragmentPipeline.addPolicy(throttlePolicy(throttle, describeResponse));
    this.fragmentPipeline.addPolicy(requestTimeoutPolicy());
    this.fragmentPipeline.addPolicy(noAuthorizationPolicy());

    this.controlPipeline = createEmptyPipeline();
    this.controlPipeline.addPolicy(userAgentPolicy(userAgent));
    this.controlPipeline.addPolicy(clientRequestIdPolicy());
    const maxAttempts = options.maxRetries === undefined ? undefined : options.maxRetries + 1;
    for (const policy of retryPipelinePolicies({ ...options.retry, maxAttempts, service: "Upload session", throttleGateInside: true })) this.controlPipeline.addPolicy(policy);
    this.controlPipeline.addPolicy(throttlePolicy(throttle, describeResponse));
    this.controlPipeline.addPolicy(requestTimeoutPolicy());
    this.controlPipeline.addPolicy(noAuthorizationPolicy());
  }

  /**
   * Sends bytes [firstByte, firstByte + bytes.length) of a `totalSize`-byte file. `bytes` goes out as is (no copy).
   * 202 → accepted with the server's nextExpectedRanges; 200/201 → the finished driveItem (201 = created).
   * Throws GraphError for an error status and GraphNetworkError when no answer came.
   */
  async putFragment(uploadUrl: string, firstByte: number, bytes: Uint8Array | readonly Uint8Array[], totalSize: number, options: PutFragmentOptions = {}): Promise<FragmentResult> {
    const length = fragmentLength(bytes);
    const lastByte = firstByte + length - 1;
    if (!Number.isSafeInteger(firstByte) || firstByte < 0) throw new RangeError(`firstByte must be a non-negative integer, got ${firstByte}`);
    if (!Number.isSafeInteger(totalSize) || totalSize <= 0) throw new RangeError(`totalSize must be a positive integer, got ${totalSize}`);
    if (length === 0) throw new RangeError("a fragment needs at least one byte (empty files go through a simple upload)");
    if (lastByte >= totalSize) throw new RangeError(`fragment bytes ${firstByte}-${lastByte} run past the end of a ${totalSize}-byte file`);

    const headers = createHttpHeaders({
      "Content-Range": `bytes ${firstByte}-${lastByte}/${totalSize}`,
      "Content-Length": String(length),
      "Content-Type": "application/octet-stream",
    });
    const response = await this.send(this.fragmentPipeline, "PUT", uploadUrl, {
      headers,
      body: fragmentBody(bytes),
      timeoutMs: options.timeoutMs ?? this.fragmentTimeoutMs(length),
      abortSignal: options.abortSignal,
    });
    if (response.status === 202) {
      const status = parseStatusBody(response);
      return { kind: "accepted", nextExpectedRanges: status.nextExpectedRanges, expirationDateTime: status.expirationDateTime };
    }
    if (response.status === 200 || response.status === 201) {
      const item = parseBody<DriveItem>(response);
      if (!item || typeof item.id !== "string") {
        throw this.error("PUT", uploadUrl, response, { code: "missingDriveItem", message: "the final fragment's answer carried no driveItem; look the file up by path" });
      }
      return { kind: "completed", item, created: response.status === 201 };
    }
    throw this.error("PUT", uploadUrl, response);
  }

  /** Where the server stands; "notFound" when the session is gone (expired, cancelled or committed). */
  async getStatus(uploadUrl: string): Promise<UploadSessionStatus | "notFound"> {
    const response = await this.send(this.controlPipeline, "GET", uploadUrl, { headers: createHttpHeaders({ Accept: "application/json" }) });
    if (response.status === 404) return "notFound";
    if (response.status !== 200) throw this.error("GET", uploadUrl, response);
    return parseStatusBody(response);
  }

  /** Abandons the session (DELETE → 204); a session already gone (404) counts as cancelled. */
  async cancel(uploadUrl: string): Promise<void> {
    const response = await this.send(this.controlPipeline, "DELETE", uploadUrl, { headers: createHttpHeaders() });
    if (response.status === 204 || response.status === 200 || response.status === 404) return;
    throw this.error("DELETE", uploadUrl, response);
  }

  private async send(
    pipeline: Pipeline,
    method: "PUT" | "GET" | "DELETE",
    uploadUrl: string,
    request: { headers: ReturnType<typeof createHttpHeaders>; body?: RequestBodyType; timeoutMs?: number; abortSignal?: AbortSignal },
  ): Promise<PipelineResponse> {
    const protocol = safeProtocol(uploadUrl);
    if (protocol !== "https:" && !(protocol === "http:" && this.allowInsecureConnection)) {
      throw new Error(`upload URL ${redactUploadUrl(uploadUrl)} is not https:// (http needs allowInsecureConnection, for local tests only)`);
    }
    const pipelineRequest = createPipelineRequest({
      url: uploadUrl,
      method,
      headers: request.headers,
      body: request.body,
      timeout: request.timeoutMs ?? this.controlTimeoutMs,
      abortSignal: request.abortSignal,
      allowInsecureConnection: this.allowInsecureConnection,
    });
    return sendThroughPipeline(pipeline, this.httpClient, pipelineRequest, "Upload session", redactUploadUrl(uploadUrl));
  }

  private error(method: string, uploadUrl: string, response: PipelineResponse, override?: { code: string; message: string }): GraphError {
    return new GraphError({
      service: "Upload session",
      method,
      url: redactUploadUrl(uploadUrl),
      status: response.status,
      headers: response.headers,
      bodyText: override ? JSON.stringify({ error: override }) : response.bodyAsText ?? undefined,
      clientRequestId: response.request.headers.get("client-request-id"),
      retryAfterMs: parseRetryAfterMs(response.headers, this.now()),
    });
  }
}

function fragmentLength(bytes: Uint8Array | readonly Uint8Array[]): number {
  if (bytes instanceof Uint8Array) return bytes.length;
  let length = 0;
  for (const chunk of bytes) length += chunk.length;
  return length;
}

/**
 * A fragment goes out in ~1 MiB slices of the caller's buffer (views, no copy) through a stream, so the socket's
 * backpressure paces TLS: handed over whole, a 10 MiB fragment is encrypted into native memory at once, per file in
 * flight. A factory, so the body could be replayed. Chunk lists (one fragment in several buffers) go out the same way.
 */
const WRITE_SLICE_BYTES = 1024 * 1024;

function fragmentBody(bytes: Uint8Array | readonly Uint8Array[]): RequestBodyType {
  if (bytes instanceof Uint8Array && bytes.length <= WRITE_SLICE_BYTES) return bytes;
  const buffers = bytes instanceof Uint8Array ? [bytes] : bytes;
  return () => Readable.from(slices(buffers), { objectMode: false });
}

function* slices(buffers: readonly Uint8Array[]): Generator<Buffer> {
  for (const buffer of buffers) {
    for (let start = 0; start < buffer.length; start += WRITE_SLICE_BYTES) {
      yield Buffer.from(buffer.buffer, buffer.byteOffset + start, Math.min(WRITE_SLICE_BYTES, buffer.length - start));
    }
  }
}

/**
 * First byte the server still needs: the lowest start among "start-end" / "start-" ranges; undefined for an
 * empty or missing list (the server holds everything, or said nothing).
 */
export function nextExpectedOffset(ranges: string[] | undefined): number | undefined {
  if (!ranges || ranges.length === 0) return undefined;
  let lowest: number | undefined;
  for (const range of ranges) {
    const match = /^\s*(\d+)\s*-\s*(\d*)\s*$/.exec(range);
    if (!match) throw new Error(`unreadable nextExpectedRanges entry '${range}'`);
    const start = Number(match[1]);
    if (lowest === undefined || start < lowest) lowest = start;
  }
  return lowest;
}

function parseStatusBody(response: PipelineResponse): UploadSessionStatus {
  const body = parseBody<UploadSessionStatusBody>(response) ?? {};
  const ranges = body.nextExpectedRanges ?? body.NextExpectedRanges ?? [];
  return {
    nextExpectedRanges: Array.isArray(ranges) ? ranges.filter((range): range is string => typeof range === "string") : [],
    expirationDateTime: typeof body.expirationDateTime === "string" ? body.expirationDateTime : undefined,
  };
}

function parseBody<T>(response: PipelineResponse): T | undefined {
  if (!response.bodyAsText) return undefined;
  try {
    return JSON.parse(response.bodyAsText) as T;
  } catch {
    return undefined;
  }
}

function safeProtocol(url: string): string | undefined {
  try {
    return new URL(url).protocol;
  } catch {
    return undefined;
  }
}
