import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import type { RecordedRequest } from "./types";

/** Thrown by handlers to answer with a service-style error body. */
export class ServiceError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly innerCode?: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export class BodyTooLargeError extends Error {}

/** What a handler reads from a request: its line, its headers and its body as a stream of buffers. */
export type ExchangeRequest = AsyncIterable<Buffer> & {
  readonly method?: string;
  readonly url?: string;
  readonly headers: IncomingHttpHeaders;
};

/** Turns anything a handler threw into the error answer it stands for. */
export function toServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  return new ServiceError(500, "generalException", `Emulator failure: ${error instanceof Error ? error.message : String(error)}`);
}

/**
 * One request/response pair: request ids, the recorded entry, uniform error bodies, latency, and dropping.
 * Graph errors use the Graph envelope (`innerError` with date and ids); the upload host answers the bodies the
 * OneDrive error page shows (`innererror` with only a code), so clients must read both spellings, as they must
 * against the real service. Subclasses decide where the answer goes: a socket (HttpExchange) or a batch's
 * sub-response (batchRoutes), so the same route code serves both.
 */
export abstract class Exchange {
  readonly requestId = randomUUID();
  readonly clientRequestId: string;
  readonly url: URL;
  /** Extra delay before the answer, set by a slowResponse fault. */
  extraDelayMs = 0;
  /** Set by a stallAfterAction fault: the route runs to the end, and its answer is held instead of sent. */
  withholdAnswer = false;
  /** Headers every answer of this exchange carries (RateLimit-* of a metered library), under the answer's own. */
  readonly extraHeaders: Record<string, string> = {};
  private answered = false;
  private stalledAlready = false;

  constructor(
    readonly req: ExchangeRequest,
    readonly record: RecordedRequest,
    private readonly latencyMs: number,
    protected readonly now: () => number,
  ) {
    const given = req.headers["client-request-id"];
    this.clientRequestId = typeof given === "string" && given !== "" ? given : randomUUID();
    this.url = new URL(req.url ?? "/", "https://emulator.invalid");
  }

  get origin(): "graph" | "upload" {
    return this.record.origin;
  }

  get isAnswered(): boolean {
    return this.answered;
  }

  get isStalled(): boolean {
    return this.stalledAlready;
  }

  /**
   * Never answers: reads the rest of the body first when readBody is set, then holds the connection. Resolves once
   * the stall is in place, so the route's work (and a session's queue of fragments) can settle behind it.
   */
  async stall(readBody: boolean): Promise<void> {
    this.answered = true;
    if (this.stalledAlready) return;
    this.stalledAlready = true;
    this.record.status = 0;
    if (readBody) await this.readRemainingBody();
    this.record.stalled = true;
    this.onStalled();
  }

  /** Called once the exchange has stalled; HttpExchange reports it to the emulator. */
  protected onStalled(): void {}

  /** Reads and counts whatever of the body no route has read. */
  protected async readRemainingBody(): Promise<void> {}

  header(name: string): string | undefined {
    const value = this.req.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(", ") : value;
  }

  countBodyBytes(byteCount: number): void {
    this.record.bodyLength += byteCount;
  }

  async sendJson(status: number, body: unknown, headers: Record<string, string> = {}): Promise<void> {
    await this.answer(status, headers, body);
  }

  async sendEmpty(status: number, headers: Record<string, string> = {}): Promise<void> {
    await this.answer(status, headers, undefined);
  }

  async sendError(error: ServiceError): Promise<void> {
    await this.sendJson(error.status, this.errorBody(error.code, error.message, error.innerCode), error.headers);
  }

  errorBody(code: string, message: string, innerCode?: string): unknown {
    if (this.origin === "upload") {
      return { error: innerCode === undefined ? { code, message } : { code, message, innererror: { code: innerCode } } };
    }
    const innerError: Record<string, string> = {};
    if (innerCode !== undefined) innerError.code = innerCode;
    innerError.date = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, "");
    innerError["request-id"] = this.requestId;
    innerError["client-request-id"] = this.clientRequestId;
    return { error: { code, message, innerError } };
  }

  /** Ends the exchange without an answer, as a dropped or reset connection looks to the client. */
  abstract drop(): void;

  /** Hands the answer over; json undefined means no body. Called at most once, after the delay. */
  protected abstract deliver(status: number, headers: Record<string, string>, json: unknown): void;

  /** Claims the single answer; false when the exchange was already answered or dropped. */
  protected claimAnswer(): boolean {
    if (this.answered) return false;
    this.answered = true;
    return true;
  }

  private async answer(status: number, headers: Record<string, string>, json: unknown): Promise<void> {
    if (this.withholdAnswer && !this.answered) {
      await this.stall(true);
      return;
    }
    if (!this.claimAnswer()) return;
    const delay = this.latencyMs + this.extraDelayMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    this.deliver(status, { ...this.extraHeaders, ...headers }, json);
  }
}

/** An exchange over a real HTTPS connection. */
export class HttpExchange extends Exchange {
  /** Captured up front: a destroyed request stream may already have let go of its socket. */
  private readonly socket: Socket;

  constructor(
    private readonly message: IncomingMessage,
    private readonly res: ServerResponse,
    record: RecordedRequest,
    latencyMs: number,
    now: () => number,
    private readonly stallListener: (exchange: HttpExchange) => void = () => {},
  ) {
    super(message, record, latencyMs, now);
    this.socket = message.socket;
  }

  protected override onStalled(): void {
    this.stallListener(this);
  }

  protected override async readRemainingBody(): Promise<void> {
    if (this.message.readableEnded || this.message.destroyed) return;
    try {
      for await (const chunk of this.message as AsyncIterable<Buffer>) this.countBodyBytes(chunk.length);
    } catch {
      // The client gave up while sending: the stall still stands, on a connection that is already gone.
    }
  }

  drop(): void {
    this.claimAnswer();
    this.record.status = 0;
    this.socket.destroy();
  }

  protected deliver(status: number, headers: Record<string, string>, json: unknown): void {
    if (this.res.destroyed) return;
    this.record.status = status;
    const payload = json === undefined ? undefined : Buffer.from(JSON.stringify(json), "utf8");
    this.res.writeHead(status, {
      "request-id": this.requestId,
      "client-request-id": this.clientRequestId,
      date: new Date(this.now()).toUTCString(),
      "content-length": String(payload?.length ?? 0),
      ...(payload === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
      ...headers,
    });
    this.res.end(payload);
    // An error answered before the body was read: discard the rest so the connection can be reused.
    if (!this.message.readableEnded) this.message.resume();
  }
}

/** Reads the whole request body, refusing more than limitBytes. */
export async function readBody(exchange: Exchange, limitBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of exchange.req as AsyncIterable<Buffer>) {
    received += chunk.length;
    exchange.countBodyBytes(chunk.length);
    if (received > limitBytes) throw new BodyTooLargeError(`body over ${limitBytes} bytes`);
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

export async function readJsonBody(exchange: Exchange): Promise<Record<string, unknown>> {
  let body: Buffer;
  try {
    body = await readBody(exchange, 1024 * 1024);
  } catch (error) {
    if (error instanceof BodyTooLargeError) {
      throw new ServiceError(413, "invalidRequest", "The JSON request body is larger than 1 MiB.");
    }
    throw error;
  }
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new ServiceError(400, "invalidRequest", "The request body is not valid JSON.");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ServiceError(400, "invalidRequest", "The request body must be a JSON object.");
  }
  return parsed as Record<string, unknown>;
}
