import type { HttpRequest, HttpResponseInit, InvocationContext } from "@azure/functions";
import pLimit from "p-limit";
import { BlobNotFoundError, type SourceBlob } from "../storage/blobSource";
import type { TransferLog } from "../transfer/blobTransfer";
import type { TransferEngine } from "../transfer/transferEngine";
import { errorText } from "../shared/errorText";
import { invocationLog } from "./invocationLog";
import { MAX_BLOB_NAME } from "./queueMessages";
import { newRunId } from "./sweepPlanner";
import type { TransferQueue } from "./transferQueue";
import { readStatusReport } from "./statusSnapshot";
import { rowView, statusDestination, type LinkReport, type TransferStatusReport } from "./transferStatus";

/** Names one POST may list: each is checked and queued inside the request, which must answer within seconds. */
export const MAX_BLOBS_PER_REQUEST = 500;
const CHECK_CONCURRENCY = 16;

export interface HttpDependencies {
  engineFor(log: TransferLog): TransferEngine;
  queue: TransferQueue;
  linkState(): Promise<LinkReport>;
  now?: () => number;
}

export type HttpHandler = (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;

class BadRequest extends Error {
  constructor(message: string, readonly details: Record<string, unknown> = {}) {
    super(message);
  }
}

/**
 * Every answer of this API describes the ledger at one moment and some carry blob names: no browser, proxy or CDN
 * may keep or replay one.
 */
function noStore(handler: HttpHandler): HttpHandler {
  return async (request, context) => {
    const response = await handler(request, context);
    const headers = new Headers(response.headers);
    headers.set("Cache-Control", "no-store");
    return { ...response, headers };
  };
}

function badRequest(message: string, details: Record<string, unknown> = {}): HttpResponseInit {
  return { status: 400, jsonBody: { error: message, ...details } };
}

/**
 * POST /api/transfers. An empty body or {} queues a sweep (the worker lists and fans out); {"blobs":[...]} queues
 * those blobs after checking each is under the prefix and exists. Only enqueues: no transfer runs in the request.
 */
export function createStartTransfersHandler(dependencies: HttpDependencies): HttpHandler {
  return noStore(async (request, context) => {
    const log = invocationLog(context);
    let names: string[] | undefined;
    try {
      names = requestedBlobs(await request.text());
    } catch (error) {
      if (error instanceof BadRequest) return badRequest(error.message, error.details);
      throw error;
    }
    const runId = newRunId();
    if (names === undefined) {
      await dependencies.queue.send({ kind: "sweep", runId });
      log.info(`run ${runId}: a sweep was queued on request`);
      return { status: 202, jsonBody: { runId, queued: [{ kind: "sweep" }] } };
    }

    const engine = dependencies.engineFor(log);
    const { settings, source, ledger } = engine.services;
    const outside = names.filter((name) => !name.startsWith(settings.sourcePrefix));
    if (outside.length > 0) {
      return badRequest(`${outside.length} of the blobs are outside SOURCE_PREFIX "${settings.sourcePrefix}"; nothing was queued`, { outsidePrefix: outside });
    }
    const limit = pLimit(CHECK_CONCURRENCY);
    const found = await Promise.all(
      names.map((name) =>
        limit(async (): Promise<SourceBlob | undefined> => {
          try {
            return await source.getProperties(name);
          } catch (error) {
            if (error instanceof BlobNotFoundError) return undefined;
            throw error;
          }
        }),
      ),
    );
    const absent = names.filter((_name, index) => found[index] === undefined);
    if (absent.length > 0) {
      return badRequest(`${absent.length} of the blobs do not exist in container "${settings.sourceContainer}"; nothing was queued`, { absent });
    }
    const now = dependencies.now ?? Date.now;
    const queued = await Promise.all(
      (found as SourceBlob[]).map((blob) =>
        limit(async () => {
          await dependencies.queue.send({ kind: "transfer", blob: blob.name, etag: blob.etag, runId });
          await ledger.markQueued(blob.name, blob.etag, new Date(now()));
          return { kind: "transfer" as const, blob: blob.name, etag: blob.etag };
        }),
      ),
    );
    log.info(`run ${runId}: ${queued.length} blob${queued.length === 1 ? "" : "s"} queued on request`);
    return { status: 202, jsonBody: { runId, queued } };
  });
}

/** undefined means "sweep now"; otherwise the distinct names, in the order given. */
export function requestedBlobs(bodyText: string): string[] | undefined {
  if (bodyText.trim() === "") return undefined;
  let body: unknown;
  try {
    body = JSON.parse(bodyText);
  } catch (error) {
    throw new BadRequest(`The body is not valid JSON (${errorText(error)}). Send {} or nothing to sweep, or {"blobs":["name", ...]}.`);
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new BadRequest('The body must be a JSON object: {} to sweep, or {"blobs":["name", ...]}.');
  }
  const unknown = Object.keys(body).filter((key) => key !== "blobs");
  if (unknown.length > 0) throw new BadRequest(`Unknown field${unknown.length === 1 ? "" : "s"} ${unknown.map((key) => JSON.stringify(key)).join(", ")}: the only field is "blobs".`);
  const blobs = (body as { blobs?: unknown }).blobs;
  if (blobs === undefined) return undefined;
  if (!Array.isArray(blobs) || blobs.length === 0) throw new BadRequest('"blobs" must be a non-empty array of blob names.');
  if (blobs.length > MAX_BLOBS_PER_REQUEST) throw new BadRequest(`"blobs" lists ${blobs.length} names; at most ${MAX_BLOBS_PER_REQUEST} per request (send {} to sweep everything).`);
  const wrong = blobs.map((name, index) => ({ name, index })).filter(({ name }) => typeof name !== "string" || name === "" || name.length > MAX_BLOB_NAME);
  if (wrong.length > 0) {
    throw new BadRequest(`"blobs" must hold non-empty strings of at most ${MAX_BLOB_NAME} characters; entries at ${wrong.map(({ index }) => index).join(", ")} are not.`, {
      invalidIndexes: wrong.map(({ index }) => index),
    });
  }
  return [...new Set(blobs as string[])];
}

/** The status report both GET /api/transfers and the status page show. */
export async function statusReportFor(dependencies: HttpDependencies, context: InvocationContext): Promise<TransferStatusReport> {
  const engine = dependencies.engineFor(invocationLog(context));
  const { ledger, settings } = engine.services;
  // Resolved once per process (a library's drive id also kept in the ledger table), while the ledger is read; a
  // destination that cannot be reached says why instead, and is tried again on the next refresh.
  const destination = statusDestination(engine);
  return readStatusReport({ container: settings.sourceContainer, ledger, linkState: dependencies.linkState, queue: dependencies.queue, destination, now: (dependencies.now ?? Date.now)() });
}

/** GET /api/transfers: the ledger's state, the link's health and the latest sweeps, read in parallel. */
export function createTransferStatusHandler(dependencies: HttpDependencies): HttpHandler {
  return noStore(async (_request, context) => {
    const report = await statusReportFor(dependencies, context);
    return { status: 200, jsonBody: report };
  });
}

/** GET /api/transfers/{*blob}: one ledger row; an empty name falls back to the status (a catch-all may match none). */
export function createTransferRowHandler(dependencies: HttpDependencies): HttpHandler {
  const status = createTransferStatusHandler(dependencies);
  return noStore(async (request, context) => {
    const name = request.params.blob ?? "";
    if (name === "") return status(request, context);
    const engine = dependencies.engineFor(invocationLog(context));
    const record = await engine.services.ledger.get(name);
    if (!record) {
      return { status: 404, jsonBody: { error: `No ledger row for blob "${name}" in container "${engine.services.settings.sourceContainer}": it was never queued or transferred.` } };
    }
    return { status: 200, jsonBody: rowView(record, (dependencies.now ?? Date.now)()) };
  });
}
