import { answerPreActionFault, answerThrottleWindow, SESSION_NOT_FOUND_MESSAGE, withDrive, type EmulatorContext } from "./context";
import { type Exchange, ServiceError } from "./exchange";
import type { ArmedFault, RequestClass } from "./faults";
import type { UploadSession } from "./uploadSessions";

/** Every request must be under 60 MiB. */
export const MAX_FRAGMENT_BYTES = 62_914_560;
/** Every fragment but the last must be a multiple of 320 KiB. */
export const FRAGMENT_ALIGNMENT_BYTES = 327_680;

const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+)$/;

/** The upload host: fragment PUT, status GET, DELETE and the Business-style commit POST on an uploadUrl. */
export async function handleUploadRequest(exchange: Exchange, context: EmulatorContext): Promise<void> {
  const method = exchange.req.method ?? "GET";
  const requestClass: RequestClass = method === "PUT" ? "uploadPut" : method === "GET" ? "uploadGet" : "uploadOther";
  if (await answerThrottleWindow(exchange, context)) return;
  const fault = context.faults.take(requestClass, { origin: "upload", method, url: exchange.req.url ?? "/", headers: exchange.record.headers });
  if (await answerPreActionFault(exchange, context, fault)) return;
  if (await context.library.meter(exchange)) return;

  if (exchange.header("authorization") !== undefined && context.uploadAuthorization.tolerate) {
    context.uploadAuthorization.toleratedCount += 1;
  } else if (exchange.header("authorization") !== undefined) {
    throw new ServiceError(
      401,
      "unauthenticated",
      "The uploadUrl carries its own credential; send requests to it without an Authorization header.",
    );
  }
  const match = /^\/up\/([\w-]+)$/.exec(exchange.url.pathname);
  // Session ids are unique across drives; the drive that issued one serves it.
  const drive = match === null ? undefined : context.tenant.drives.find((candidate) => candidate.sessions.find(match[1]) !== undefined);
  if (drive !== undefined) context = withDrive(context, drive);
  const session = match === null ? undefined : context.sessions.find(match[1]);
  if (session === undefined) throw sessionNotFound();
  if (exchange.url.searchParams.get("tempauth") !== session.tempauth) {
    throw new ServiceError(401, "unauthenticated", "The tempauth token in the upload URL is missing or wrong; use the uploadUrl exactly as returned.");
  }
  if (context.now() >= session.tempauthExpiresAt) {
    const from = new Date(session.tempauthExpiresAt - 24 * 3600 * 1000).toISOString();
    throw new ServiceError(401, "unauthenticated", `Token is valid from ${from} to ${new Date(session.tempauthExpiresAt).toISOString()}; create a new upload session.`, "expiredToken");
  }

  switch (method) {
    case "GET":
      await exchange.sendJson(200, context.sessions.statusJson(session));
      return;
    case "DELETE":
      context.sessions.remove(session);
      await exchange.sendEmpty(204);
      return;
    case "PUT":
      await serialised(session, () => receiveFragment(exchange, context, session, fault));
      return;
    case "POST":
      await serialised(session, () => commitDeferred(exchange, context, session));
      return;
    default:
      throw new ServiceError(405, "invalidRequest", `Method ${method} is not supported on an uploadUrl.`);
  }
}

function sessionNotFound(): ServiceError {
  return new ServiceError(404, "itemNotFound", SESSION_NOT_FOUND_MESSAGE);
}

async function serialised(session: UploadSession, work: () => Promise<void>): Promise<void> {
  const previous = session.tail;
  let release!: () => void;
  session.tail = new Promise<void>((resolve) => (release = resolve));
  await previous;
  try {
    await work();
  } finally {
    release();
  }
}

interface FragmentRange {
  first: number;
  last: number;
  total: number;
  length: number;
}

function validateFragment(exchange: Exchange, context: EmulatorContext, session: UploadSession): FragmentRange {
  const rangeHeader = exchange.header("content-range");
  const parsed = rangeHeader === undefined ? null : CONTENT_RANGE.exec(rangeHeader.trim());
  const first = parsed === null ? NaN : Number(parsed[1]);
  const last = parsed === null ? NaN : Number(parsed[2]);
  const total = parsed === null ? NaN : Number(parsed[3]);
  if (parsed === null || last < first || last >= total || !Number.isSafeInteger(total)) {
    throw new ServiceError(400, "invalidRequest", "The Content-Range header is missing or malformed.");
  }
  const lengthHeader = exchange.header("content-length");
  if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader)) {
    throw new ServiceError(400, "invalidRequest", "A fragment needs a Content-Length header (chunked bodies are not accepted).");
  }
  const length = Number(lengthHeader);
  if (length === 0) {
    throw new ServiceError(400, "invalidRequest", "A fragment cannot be empty; upload 0-byte files with a simple PUT …/content.");
  }
  if (length >= MAX_FRAGMENT_BYTES) {
    throw new ServiceError(413, "invalidRequest", `A fragment of ${length} bytes is too large; each request must be under ${MAX_FRAGMENT_BYTES} bytes (60 MiB).`, "maxFragmentLengthExceeded");
  }
  if (length !== last - first + 1) {
    throw new ServiceError(400, "invalidRequest", `Content-Length ${length} does not match Content-Range ${rangeHeader} (last - first + 1 = ${last - first + 1}).`);
  }
  const expectedTotal = session.total ?? session.declaredSize;
  if (expectedTotal !== undefined && total !== expectedTotal) {
    throw new ServiceError(400, "invalidRequest", `The total ${total} in Content-Range differs from the file size ${expectedTotal} this upload session was given.`, "fragmentLengthMismatch");
  }
  const isFinal = last + 1 === total;
  if (!isFinal && length % FRAGMENT_ALIGNMENT_BYTES !== 0) {
    throw new ServiceError(400, "invalidRequest", `A fragment of ${length} bytes is not the last one, so its length must be a multiple of ${FRAGMENT_ALIGNMENT_BYTES} bytes (320 KiB).`);
  }
  if (first < session.nextExpected) {
    throw new ServiceError(416, "invalidRange", "Uploaded fragment overlaps with existing data.", "fragmentOverlap");
  }
  if (first > session.nextExpected) {
    throw new ServiceError(416, "invalidRange", "Uploaded fragment is out of order.", "fragmentOutOfOrder");
  }
  return { first, last, total, length };
}

/** How many bytes of the fragment the fault lets the emulator keep; undefined keeps all. */
function bytesToKeep(fault: ArmedFault | undefined, length: number): number | undefined {
  if (fault?.kind !== "storePartialThenDrop") return undefined;
  if (fault.partialBytes !== undefined) return Math.min(fault.partialBytes, length);
  // Seeded: somewhere strictly inside the fragment, so the kept prefix is usually unaligned.
  return length <= 1 ? 0 : 1 + Math.floor((fault.partialFraction ?? 0.5) * (length - 1));
}

async function receiveFragment(exchange: Exchange, context: EmulatorContext, session: UploadSession, fault: ArmedFault | undefined): Promise<void> {
  if (!context.sessions.isLive(session)) throw sessionNotFound();
  const range = validateFragment(exchange, context, session);
  const keep = bytesToKeep(fault, range.length) ?? range.length;
  const hasher = session.hasher.clone();
  const received: Buffer[] = [];
  let receivedBytes = 0;
  let keptBytes = 0;
  let droppedEarly = false;
  try {
    for await (const chunk of exchange.req as AsyncIterable<Buffer>) {
      exchange.countBodyBytes(chunk.length);
      receivedBytes += chunk.length;
      if (receivedBytes > range.length) break;
      const keepFromChunk = Math.min(chunk.length, keep - keptBytes);
      if (keepFromChunk > 0) {
        const kept = keepFromChunk === chunk.length ? chunk : chunk.subarray(0, keepFromChunk);
        hasher.update(kept);
        if (session.chunks !== undefined) received.push(kept);
        keptBytes += keepFromChunk;
      }
      if (keep < range.length && keptBytes === keep) {
        droppedEarly = true;
        break;
      }
    }
  } catch {
    // The client went away mid-fragment: the service ignores every byte of a failed request.
    exchange.drop();
    return;
  }
  if (!droppedEarly && receivedBytes !== range.length) {
    exchange.drop();
    return;
  }
  // A DELETE or expiry while the body streamed in wins: nothing is stored.
  if (!context.sessions.isLive(session)) throw sessionNotFound();

  session.hasher = hasher;
  if (session.chunks !== undefined) session.chunks.push(...received);
  session.nextExpected += keptBytes;
  session.total = range.total;
  context.sessions.extend(session);

  if (fault?.kind === "storePartialThenDrop") {
    exchange.drop();
    return;
  }
  let answer: { status: number; body: unknown } | ServiceError;
  if (!context.sessions.holdsAllBytes(session) || session.deferCommit) {
    answer = { status: 202, body: context.sessions.statusJson(session) };
  } else {
    answer = commitToAnswer(context, session);
  }
  if (fault?.kind === "dropAfterStore") {
    exchange.drop();
    return;
  }
  if (fault?.kind === "serverErrorAfterStore") {
    await exchange.sendJson(fault.status ?? 500, exchange.errorBody("generalException", "An unspecified error has occurred."));
    return;
  }
  if (answer instanceof ServiceError) throw answer;
  await exchange.sendJson(answer.status, answer.body);
}

function commitToAnswer(context: EmulatorContext, session: UploadSession): { status: number; body: unknown } | ServiceError {
  try {
    const { item, created } = context.sessions.commit(session);
    return { status: created ? 201 : 200, body: context.store.driveItemJson(item, context.graphEndpoint) };
  } catch (error) {
    if (error instanceof ServiceError) return error;
    throw error;
  }
}

/** Business-style explicit commit of a deferCommit session: POST {uploadUrl} with no body. */
async function commitDeferred(exchange: Exchange, context: EmulatorContext, session: UploadSession): Promise<void> {
  if (!context.sessions.isLive(session)) throw sessionNotFound();
  const lengthHeader = exchange.header("content-length");
  if (lengthHeader !== "0") {
    throw new ServiceError(400, "invalidRequest", "Commit an upload session with a POST that has Content-Length: 0 and no body.");
  }
  if (!session.deferCommit) {
    throw new ServiceError(400, "invalidRequest", "This upload session was not created with deferCommit; its last fragment commits it.");
  }
  if (!context.sessions.holdsAllBytes(session)) {
    throw new ServiceError(416, "invalidRange", `The upload session holds ${session.nextExpected} bytes, not the whole file; send the remaining fragments before committing.`);
  }
  const answer = commitToAnswer(context, session);
  if (answer instanceof ServiceError) throw answer;
  await exchange.sendJson(answer.status, answer.body);
}
