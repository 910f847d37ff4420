import { finished, type Readable } from "node:stream";
import type { ContainerClient } from "@azure/storage-blob";
import { RestError } from "@azure/core-rest-pipeline";
import { linkedSignal, signalWithin } from "../http/callContext";
import { boundedAttempt } from "../http/attemptTimeout";
import { ContainerRequests } from "./containerRequests";

/**
 * A ranged read's body may stall after its headers came (the SDK's per-try timeout stops at the headers): it gets
 * a floor plus a second per MiB, far beyond a healthy read (hundreds of MiB/s) and short enough to free the worker.
 */
const READ_FLOOR_MS = 30_000;
const READ_MS_PER_MIB = 1_000;
/** A properties request, or the whole listing of a container (5,000 blobs a page). */
const PROPERTIES_TIMEOUT_MS = 60_000;
const LISTING_TIMEOUT_MS = 10 * 60_000;

/** A ranged read that did not finish in its time: temporary, like any network failure (the read is tried again later). */
export class BlobReadTimeoutError extends Error {
  readonly code = "ETIMEDOUT";
  constructor(readonly blobName: string, offset: number, count: number, timeoutMs: number) {
    super(`Blob "${blobName}": ${count} bytes at offset ${offset} did not arrive within ${Math.round(timeoutMs / 1000)} s`);
    this.name = "BlobReadTimeoutError";
  }
}

/** Blob properties return ETags quoted, listings unquoted: every comparison goes through this. */
export function normaliseEtag(etag: string | undefined): string {
  return (etag ?? "").replace(/^W\//, "").replace(/^"|"$/g, "");
}

export interface SourceBlob {
  name: string;
  /** Normalised (unquoted). */
  etag: string;
  size: number;
  lastModified: Date;
}

/** The blob was overwritten or deleted after its ETag was pinned: the transfer must start again on the new version. */
export class BlobChangedError extends Error {
  constructor(readonly blobName: string, readonly pinnedEtag: string, cause?: unknown) {
    super(`Blob "${blobName}" changed while it was being transferred (ETag ${pinnedEtag} no longer current)`, { cause });
    this.name = "BlobChangedError";
  }
}

export class BlobNotFoundError extends Error {
  constructor(readonly blobName: string, readonly container: string) {
    super(`Blob "${blobName}" does not exist in container "${container}"`);
    this.name = "BlobNotFoundError";
  }
}

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : (error as { statusCode?: number })?.statusCode;
}

/**
 * Read side of a transfer. Every ranged read is pinned to the ETag seen when the transfer started (If-Match), so a
 * blob overwritten mid-transfer fails the read instead of mixing two versions in OneDrive.
 */
export class BlobSource {
  private requestsOfContainer?: ContainerRequests;

  constructor(
    readonly container: ContainerClient,
    /** How long a ranged read of `count` bytes may take; tests shorten it. */
    private readonly readTimeoutMs: (count: number) => number = (count) => READ_FLOOR_MS + Math.ceil(count / (1024 * 1024)) * READ_MS_PER_MIB,
  ) {}

  get containerName(): string {
    return this.container.containerName;
  }

  private get requests(): ContainerRequests {
    return (this.requestsOfContainer ??= ContainerRequests.of(this.container));
  }

  /** The blobs under `prefix`, page by page (blobListing.ts). */
  async *list(prefix: string, options: { maxResultsPerPage?: number } = {}): AsyncIterable<SourceBlob> {
    const abortSignal = signalWithin(LISTING_TIMEOUT_MS);
    let marker: string | undefined;
    do {
      const page = await this.requests.listPage({ prefix, marker, maxResults: options.maxResultsPerPage, abortSignal });
      for (const blob of page.blobs) yield { ...blob, etag: normaliseEtag(blob.etag) };
      marker = page.nextMarker;
    } while (marker);
  }

  async getProperties(name: string): Promise<SourceBlob> {
    try {
      const properties = await this.container.getBlobClient(name).getProperties({ abortSignal: signalWithin(PROPERTIES_TIMEOUT_MS) });
      return {
        name,
        etag: normaliseEtag(properties.etag),
        size: properties.contentLength ?? 0,
        lastModified: properties.lastModified ?? new Date(0),
      };
    } catch (error) {
      if (statusOf(error) === 404) throw new BlobNotFoundError(name, this.containerName);
      throw error;
    }
  }

  /** Fills `target[0..count)` with bytes [offset, offset+count) of the blob, or throws BlobChangedError. */
  async readRange(blob: Pick<SourceBlob, "name" | "etag">, offset: number, count: number, target: Buffer, abortSignal?: AbortSignal): Promise<Buffer> {
    const view = target.subarray(0, count);
    if (count === 0) return view;
    const timeoutMs = this.readTimeoutMs(count);
    const callerSignal = linkedSignal(abortSignal);
    const attempt = boundedAttempt(timeoutMs, callerSignal);
    try {
      const stream = await this.requests.readRange(blob.name, blob.etag, offset, count, attempt.signal);
      const filled = await copyBody(stream as Readable, view, blob.name);
      if (filled !== count) {
        throw new Error(`Blob "${blob.name}" returned ${filled} bytes for a ${count}-byte range at offset ${offset}`);
      }
      return view;
    } catch (error) {
      const status = statusOf(error);
      if (status === 412 || status === 404) throw new BlobChangedError(blob.name, blob.etag, error);
      if (attempt.timedOut() && !callerSignal?.aborted) throw new BlobReadTimeoutError(blob.name, offset, count, timeoutMs);
      throw error;
    } finally {
      attempt.dispose();
    }
  }
}

/**
 * Copies an answer's body into `target` as its chunks arrive and resolves with the bytes copied once it has ended;
 * rejects with the stream's error, a premature close (an aborted read), or a body longer than `target`. Node's HTTP
 * client gives every downloaded byte two short-lived allocations outside the JS heap (the socket read, then the
 * parser's copy of the body chunk we get here), freed only when V8 collects them. Freeing our copy early or limiting
 * downloads in flight does not lower the peak that garbage causes, so each chunk is simply copied and dropped. Read
 * through 'data' events rather than an async iterator, which costs a promise and a tick a chunk (tens of thousands
 * for a GiB, each through the invocation context's promise hooks).
 */
function copyBody(stream: Readable, target: Buffer, blobName: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let filled = 0;
    const onData = (chunk: Buffer): void => {
      if (filled + chunk.length > target.length) {
        stream.off("data", onData);
        stream.destroy(new Error(`Blob "${blobName}" returned more bytes than the requested range`));
        return;
      }
      chunk.copy(target, filled);
      filled += chunk.length;
    };
    stream.on("data", onData);
    finished(stream, (error) => {
      stream.off("data", onData);
      if (error) reject(error);
      else resolve(filled);
    });
  });
}
