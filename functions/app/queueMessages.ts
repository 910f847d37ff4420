/**
 * The three kinds of message on the transfer queue: a transfer request (sweep, HTTP, continuation), a sweep request
 * (HTTP "sweep now") and an Event Grid BlobCreated event. Producers write plain JSON text (host.json
 * messageEncoding "none"); Event Grid has been seen writing both plain and base64-encoded JSON, so both are read.
 */

export interface TransferMessage {
  kind: "transfer";
  blob: string;
  /** The blob version the producer saw; informational (the engine always transfers the current version). */
  etag?: string;
  runId?: string;
  /** Set on the message a worker queues when its time budget ran out mid-file. */
  continuation?: true;
}

export interface SweepMessage {
  kind: "sweep";
  runId: string;
}

/** What the worker makes of an Event Grid event. */
export type BlobEventMessage =
  | { kind: "blobCreated"; container: string; blob: string; etag?: string; eventId?: string }
  | { kind: "otherEvent"; eventType: string; subject?: string };

export type QueueMessage = TransferMessage | SweepMessage | BlobEventMessage;

export class MalformedMessageError extends Error {
  constructor(problem: string) {
    super(problem);
    this.name = "MalformedMessageError";
  }
}

const BLOB_CREATED = "Microsoft.Storage.BlobCreated";
const SUBJECT = /^\/blobServices\/default\/containers\/([^/]+)\/blobs\/(.+)$/s;
/** Azure's own limit on a blob name's length, in characters. */
export const MAX_BLOB_NAME = 1024;

export function transferMessageText(message: TransferMessage | SweepMessage): string {
  return JSON.stringify(message);
}

/**
 * Turns what the queue trigger hands over into a message. The library passes the parsed object when the text is
 * JSON, the text itself otherwise (here: base64), and bytes in some host versions; all three are accepted.
 */
export function parseQueueMessage(entry: unknown): QueueMessage {
  const value = typeof entry === "string" || entry instanceof Uint8Array ? parseText(Buffer.from(entry as Uint8Array | string).toString("utf8")) : entry;
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new MalformedMessageError(`the message is ${describeShape(value)}, not a JSON object`);
  }
  const record = value as Record<string, unknown>;
  if (typeof record.eventType === "string" || (typeof record.type === "string" && typeof record.specversion === "string")) {
    return parseEvent(record);
  }
  switch (record.kind) {
    case "transfer":
      return parseTransfer(record);
    case "sweep":
      if (typeof record.runId !== "string" || record.runId === "") throw new MalformedMessageError('a "sweep" message needs a "runId" string');
      return { kind: "sweep", runId: record.runId };
    default:
      throw new MalformedMessageError(
        record.kind === undefined
          ? 'the message has neither "kind" nor "eventType": expected {"kind":"transfer",...}, {"kind":"sweep",...} or an Event Grid event'
          : `unknown message kind ${JSON.stringify(record.kind)}: expected "transfer" or "sweep"`,
      );
  }
}

function parseText(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === "") throw new MalformedMessageError("the message is empty");
  try {
    return JSON.parse(trimmed);
  } catch {
    // Not JSON: the only other encoding anyone writes to this queue is base64 of the JSON (Event Grid, some tools).
  }
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) && trimmed.length % 4 === 0) {
    const decoded = Buffer.from(trimmed, "base64").toString("utf8");
    try {
      return JSON.parse(decoded);
    } catch {
      throw new MalformedMessageError("the message is base64 but what it encodes is not JSON");
    }
  }
  throw new MalformedMessageError(`the message is neither JSON nor base64-encoded JSON (starts with ${JSON.stringify(trimmed.slice(0, 20))})`);
}

function parseTransfer(record: Record<string, unknown>): TransferMessage {
  const blob = checkBlobName(record.blob, '"blob"');
  const message: TransferMessage = { kind: "transfer", blob };
  if (record.etag !== undefined) {
    if (typeof record.etag !== "string") throw new MalformedMessageError('"etag" must be a string');
    message.etag = record.etag;
  }
  if (record.runId !== undefined) {
    if (typeof record.runId !== "string") throw new MalformedMessageError('"runId" must be a string');
    message.runId = record.runId;
  }
  if (record.continuation !== undefined) {
    if (record.continuation !== true) throw new MalformedMessageError('"continuation" must be true when present');
    message.continuation = true;
  }
  return message;
}

function checkBlobName(value: unknown, field: string): string {
  if (typeof value !== "string" || value === "") throw new MalformedMessageError(`${field} must be a non-empty string`);
  if (value.length > MAX_BLOB_NAME) throw new MalformedMessageError(`${field} is ${value.length} characters long; blob names have at most ${MAX_BLOB_NAME}`);
  return value;
}

/** Event Grid schema (eventType, data) and CloudEvents 1.0 (type, data) carry the same storage payload. */
function parseEvent(record: Record<string, unknown>): BlobEventMessage {
  const eventType = String(record.eventType ?? record.type);
  const subject = typeof record.subject === "string" ? record.subject : undefined;
  if (eventType !== BLOB_CREATED) return { kind: "otherEvent", eventType, subject };
  const data = (record.data ?? {}) as Record<string, unknown>;
  const fromSubject = subject === undefined ? undefined : SUBJECT.exec(subject);
  if (!fromSubject) throw new MalformedMessageError(`a ${BLOB_CREATED} event whose subject ${JSON.stringify(subject)} is not /blobServices/default/containers/<container>/blobs/<name>`);
  const container = fromSubject[1];
  const blob = checkBlobName(blobNameOf(fromSubject[2], container, typeof data.url === "string" ? data.url : undefined), "the event's blob name");
  const event: BlobEventMessage = { kind: "blobCreated", container, blob };
  if (typeof data.eTag === "string") event.etag = data.eTag;
  if (typeof record.id === "string") event.eventId = record.id;
  return event;
}

/**
 * The subject carries the name as stored, the URL carries it percent-encoded; which one a given delivery encodes
 * has varied, so the URL decides when it decodes cleanly and agrees with the subject (raw or decoded), and the
 * subject decides otherwise.
 */
export function blobNameOf(subjectName: string, container: string, url: string | undefined): string {
  const fromUrl = url === undefined ? undefined : nameFromUrl(url, container);
  if (fromUrl === undefined || fromUrl === subjectName) return subjectName;
  return safeDecode(subjectName) === fromUrl ? fromUrl : subjectName;
}

function nameFromUrl(url: string, container: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return undefined;
  }
  // A raw '#' or '?' in a name makes the rest a fragment or query: this URL was not encoded, so it cannot decide.
  if (parsed.search !== "" || parsed.hash !== "") return undefined;
  const segments = parsed.pathname.split("/").slice(1);
  // Blob endpoints are https://<account>.blob.../<container>/<name>; emulators put the account first.
  const containerIndex = segments.findIndex((segment) => safeDecode(segment) === container);
  if (containerIndex < 0) return undefined;
  const decoded = segments.slice(containerIndex + 1).map(safeDecode);
  return decoded.some((segment) => segment === undefined) ? undefined : decoded.join("/");
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function describeShape(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a JSON array";
  return `a ${typeof value}`;
}
