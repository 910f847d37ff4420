import type { IncomingHttpHeaders } from "node:http";
import { type BatchPart, isJsonMediaType, MAX_BATCH_BODY_BYTES, mediaTypeOf, parseBatch } from "./batchRequests";
import type { EmulatorContext } from "./context";
import { BodyTooLargeError, Exchange, type ExchangeRequest, readBody, ServiceError, toServiceError } from "./exchange";
import { handleGraphRequest } from "./graphRoutes";
import type { RecordedRequest } from "./types";

/** What a sub-response carries for a JSON body; the real service sends this very media type. */
const JSON_BODY_CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

export interface BatchSubResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  /** A JSON value, or the JSON text in base64 when the request's body was base64; absent for a body-less answer. */
  body?: unknown;
}

/**
 * `POST /v1.0/$batch`. The outer request has already passed auth and taken its own "graph" fault (a throttled
 * batch is a whole-batch 429) in handleGraphRequest. Each part then runs through handleGraphRequest itself, so it
 * takes the next "graph" fault when it starts: parts without dependsOn start in request order, a dependent part
 * starts when everything it depends on has finished. A `skip` therefore counts the $batch request first. A part
 * that stalls stalls the batch.
 */
export async function handleBatch(exchange: Exchange, context: EmulatorContext): Promise<void> {
  const method = exchange.req.method ?? "GET";
  if (method !== "POST") throw new ServiceError(405, "invalidRequest", `${method} is not supported on $batch; send POST /v1.0/$batch.`);
  const contentType = exchange.header("content-type");
  // 415 rather than 400: the body may be fine, only its declared type is wrong, and the status says exactly that.
  if (contentType === undefined || mediaTypeOf(contentType) !== "application/json") {
    throw new ServiceError(415, "unsupportedMediaType", `A batch is sent as Content-Type: application/json, not ${contentType === undefined ? "without a Content-Type" : `'${contentType}'`}.`);
  }
  let bodyBytes: Buffer;
  try {
    bodyBytes = await readBody(exchange, MAX_BATCH_BODY_BYTES);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      throw new ServiceError(413, "invalidRequest", `The batch body is larger than ${MAX_BATCH_BODY_BYTES} bytes; send fewer or smaller requests per batch.`);
    }
    throw error;
  }
  const parts = parseBatch(bodyBytes.toString("utf8"));
  const responses = await runParts(exchange, context, parts);
  // The doc lets responses come in any order; reversing makes a client that assumes request order fail here.
  await exchange.sendJson(200, { responses: responses.reverse() });
}

function runParts(batch: Exchange, context: EmulatorContext, parts: BatchPart[]): Promise<BatchSubResponse[]> {
  const partsByKey = new Map(parts.map((part) => [part.key, part]));
  const outcomes = new Map<string, Promise<BatchSubResponse>>();
  const outcomeOf = (part: BatchPart): Promise<BatchSubResponse> => {
    let outcome = outcomes.get(part.key);
    if (outcome === undefined) {
      outcome = part.dependsOn.length === 0 ? runPart(batch, context, part) : runAfterDependencies(part);
      outcomes.set(part.key, outcome);
    }
    return outcome;
  };
  const runAfterDependencies = async (part: BatchPart): Promise<BatchSubResponse> => {
    const dependencies = await Promise.all(part.dependsOn.map((key) => outcomeOf(partsByKey.get(key) as BatchPart)));
    const failed = dependencies.find((dependency) => dependency.status >= 400);
    if (failed === undefined) return runPart(batch, context, part);
    const message = `Request ${JSON.stringify(failed.id)}, which this request depends on, failed with status ${failed.status}.`;
    return runPart(batch, context, part, new ServiceError(424, "failedDependency", message));
  };
  // Ids were checked for cycles, so the recursion through outcomeOf ends.
  return Promise.all(parts.map(outcomeOf));
}

/** Runs one part through the Graph routes, or answers it with refusal without running it. */
async function runPart(batch: Exchange, context: EmulatorContext, part: BatchPart, refusal?: ServiceError): Promise<BatchSubResponse> {
  const authorization = batch.header("authorization") ?? "";
  const recordedHeaders: Record<string, string> = { ...part.headers, authorization };
  const record: RecordedRequest = {
    origin: "graph",
    method: part.method,
    url: part.url,
    headers: recordedHeaders,
    bodyLength: part.body?.length ?? 0,
    status: 0,
    startedAt: context.now(),
    batchId: batch.requestId,
  };
  context.requests.push(record);
  // A part without its own client-request-id is traced under the batch's.
  const requestHeaders: IncomingHttpHeaders = { "client-request-id": batch.clientRequestId, ...recordedHeaders };
  const exchange = new BatchPartExchange(new BatchPartRequest(part, requestHeaders), record, context.now);
  if (refusal === undefined && part.base64Body && context.jsonBatching === "jsonBodiesOnly") {
    refusal = new ServiceError(400, "invalidRequest", "This endpoint accepts only JSON bodies inside a batch.");
  }
  if (refusal !== undefined) {
    await exchange.sendError(refusal);
  } else {
    await handleGraphRequest(exchange, context).catch((error: unknown) => exchange.sendError(toServiceError(error)));
  }
  if (exchange.isStalled) {
    // The batch answers only when every part has: one part that never answers holds the whole batch, and the
    // parts that depend on it never start.
    await batch.stall(true);
    return new Promise<BatchSubResponse>(() => {});
  }
  return subResponse(part, exchange.captured);
}

function subResponse(part: BatchPart, captured: CapturedAnswer | undefined): BatchSubResponse {
  if (captured === undefined) {
    const body = { error: { code: "generalException", message: "The emulator dropped this request without an answer." } };
    return jsonSubResponse(part, 500, {}, body);
  }
  return jsonSubResponse(part, captured.status, captured.headers, captured.json);
}

function jsonSubResponse(part: BatchPart, status: number, routeHeaders: Record<string, string>, json: unknown): BatchSubResponse {
  const headers: Record<string, string> = {};
  if (json !== undefined) headers["Content-Type"] = part.base64Body ? "application/json" : JSON_BODY_CONTENT_TYPE;
  for (const [name, value] of Object.entries(routeHeaders)) headers[canonicalHeaderName(name)] = value;
  const response: BatchSubResponse = { id: part.id, status, headers };
  if (json === undefined) return response;
  // Service quirk (Microsoft Q&A 1352007, "by design"): a part whose body was base64 gets its JSON answer as a
  // base64 string, success or error alike.
  response.body = part.base64Body ? Buffer.from(JSON.stringify(json), "utf8").toString("base64") : json;
  return response;
}

/** "retry-after" → "Retry-After": sub-response headers are JSON keys, spelled as the service spells them. */
function canonicalHeaderName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_match, dash: string, letter: string) => dash + letter.toUpperCase());
}

interface CapturedAnswer {
  status: number;
  headers: Record<string, string>;
  json: unknown;
}

/** A part's request as the routes read it: its method, url, headers, and its decoded body in one chunk. */
class BatchPartRequest implements ExchangeRequest {
  readonly method: string;
  readonly url: string;

  constructor(
    private readonly part: BatchPart,
    readonly headers: IncomingHttpHeaders,
  ) {
    this.method = part.method;
    this.url = part.url;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Buffer> {
    if (this.part.body !== undefined && this.part.body.length > 0) yield this.part.body;
  }
}

/** An exchange whose answer becomes a sub-response instead of going to a socket. */
class BatchPartExchange extends Exchange {
  captured: CapturedAnswer | undefined;

  constructor(request: BatchPartRequest, record: RecordedRequest, now: () => number) {
    // No latency of its own: the batch's answer carries the emulated latency once.
    super(request, record, 0, now);
  }

  /** bodyLength is the decoded body, set up front: it arrived with the batch whether or not the route reads it. */
  override countBodyBytes(): void {}

  drop(): void {
    this.claimAnswer();
    this.record.status = 0;
  }

  protected deliver(status: number, headers: Record<string, string>, json: unknown): void {
    this.record.status = status;
    this.captured = { status, headers, json };
  }
}
