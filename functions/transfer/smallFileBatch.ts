import { BatchUnsupportedError, MAX_BATCH_REQUESTS, subResponseError, subResponseJson } from "../onedrive/graphBatch";
import type { GraphClient } from "../onedrive/graphClient";
import type { ConflictBehavior } from "../config/settings";
import type { BatchableRequest, BatchSubRequest, BatchSubResponse, DriveItem } from "../onedrive/graphTypes";
import { retryDelayMs, THROTTLE_STATUSES, type RetryOptions } from "../onedrive/retryPolicy";
import { callContext, RetryTally, withCallContext, withSharedCallContext } from "../http/callContext";

/**
 * Small files travel to OneDrive in JSON batches: each file is a simple PUT …/content (which honours
 * conflictBehavior) and then a PATCH of its fileSystemInfo (the only way to keep the blob's time without an upload
 * session), each request riding in whichever batch leaves next with up to 19 others. A file costs a small share of
 * two HTTP round trips instead of two whole ones (upload session + fragment), which is what a small file's
 * transfer time is made of. The cost: OneDrive for Business keeps the PATCH as a second version of the file.
 */

/** Files up to this size are batched: 20 of them stay under the service's 4 MB request limit once in base64. */
export const BATCHED_FILE_MAX_BYTES = 128 * 1024;

/** Batches in flight at once: the next one fills while one travels. */
const BATCHES_IN_FLIGHT = 1;

/**
 * A batch that is not full waits this long for more requests. The readers go on reading meanwhile (the queue has room
 * for two batches), so the wait adds a little latency, not lost throughput; it turns a batch of one to three requests
 * into one of about seventeen (measured in the bench).
 */
const LINGER_MS = 20;

/** Answers to a batched content upload, before any succeeded, that mean the endpoint cannot take content in a batch. */
const BATCHED_UPLOAD_REFUSED_STATUSES: ReadonlySet<number> = new Set([400, 405, 415, 501]);

/** Requests waiting for a batch at most; a file waits for room before it joins (memory stays bounded). */
const MAX_QUEUED_REQUESTS = 2 * MAX_BATCH_REQUESTS;

export interface SmallFileUpload {
  parentId: string;
  name: string;
  content: Uint8Array;
  conflictBehavior: ConflictBehavior;
  /** The blob's time, kept as the file's fileSystemInfo.lastModifiedDateTime. */
  lastModifiedDateTime: string;
  /**
   * The file has joined the queue of an endpoint known to batch: its reader can move on to the next blob, since what
   * remains is OneDrive's answers. (Before the endpoint has answered a batch, this waits for the upload's answer, so
   * files turned back to the single-request path never outnumber the readers.)
   */
  onQueued?: () => void;
}

interface QueuedRequest {
  /** The request without its batch id (ids are given per batch). */
  request: BatchableRequest;
  /** Attempts made so far. */
  attempts: number;
  /** The tally of the file that queued the request: its retries are that file's. */
  tally?: RetryTally;
  /** Where the file's retry lines go. */
  log?: (line: string) => void;
  resolve(item: DriveItem): void;
  reject(error: unknown): void;
}

export interface SmallFileBatcherOptions {
  /** The engine's clock and sleep, and the retry tuning every Graph call uses. */
  retry?: Omit<RetryOptions, "maxAttempts">;
  sleep: (ms: number) => Promise<void>;
  now: () => number;
}

export class SmallFileBatcher {
  private readonly queue: QueuedRequest[] = [];
  private inFlight = 0;
  /** Unknown until the first batch is answered; false once the endpoint refused `$batch`. */
  private supported: boolean | undefined;
  private refusal?: BatchUnsupportedError["cause"];
  private readonly waitingForRoom: (() => void)[] = [];
  private lingering?: ReturnType<typeof setTimeout>;
  /** A content upload has succeeded in a batch: from then on a refusal is that file's failure, not the endpoint's. */
  private uploadAccepted = false;

  constructor(
    private readonly graph: GraphClient,
    private readonly options: SmallFileBatcherOptions,
  ) {}

  /**
   * Whether a file goes through batches: not empty (empty files keep their own path), small, and under "replace". A
   * batch whose answer was lost is sent again whole, running its uploads twice: harmless when they replace, but a
   * second copy under "rename" and a false conflict under "fail", so those keep upload sessions (resumed from what
   * the server reports, never repeated).
   */
  accepts(size: number, conflictBehavior: ConflictBehavior): boolean {
    return this.supported !== false && conflictBehavior === "replace" && size > 0 && size <= BATCHED_FILE_MAX_BYTES;
  }

  /**
   * Stores the file and sets its time; resolves with the item as OneDrive holds it after both. Rejects with
   * BatchUnsupportedError, before anything was stored, when the endpoint does not batch: send the file alone.
   */
  async upload(file: SmallFileUpload): Promise<DriveItem> {
    this.throwIfRefused();
    await this.room();
    // The endpoint may have refused batching while this file waited for room.
    this.throwIfRefused();
    const knownToBatch = this.supported === true;
    const storing = this.enqueue(this.graph.smallFileBatchRequest(file.parentId, file.name, file.content, { conflictBehavior: file.conflictBehavior }));
    if (knownToBatch) file.onQueued?.();
    const stored = await storing;
    if (!knownToBatch) file.onQueued?.();
    const timed = await this.enqueue(this.graph.lastModifiedBatchRequest(stored.id, file.lastModifiedDateTime));
    // The PATCH answer is the newer item; the upload's answer fills in a hash or size it may leave out.
    return { ...stored, ...timed, size: timed.size ?? stored.size, file: timed.file?.hashes ? timed.file : stored.file };
  }

  private throwIfRefused(): void {
    if (this.supported === false) throw new BatchUnsupportedError(this.refusal!);
  }

  private room(): Promise<void> {
    if (this.queue.length < MAX_QUEUED_REQUESTS) return Promise.resolve();
    return new Promise((resolve) => this.waitingForRoom.push(resolve));
  }

  /**
   * Queues the request for the next batch. The batch is the files' shared work: a file whose own signal aborts (its
   * claim lost, its invocation stopping) stops waiting, and its request leaves the queue if it has not left yet, but
   * the batch carrying the other files' requests goes on.
   */
  private enqueue(request: BatchableRequest): Promise<DriveItem> {
    const { tally, log, signal } = callContext();
    return new Promise<DriveItem>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const stopWaiting = () => {
        const waiting = this.queue.indexOf(queued);
        if (waiting >= 0) this.queue.splice(waiting, 1);
        reject(signal!.reason);
      };
      const queued: QueuedRequest = {
        request, attempts: 0, tally, log,
        resolve: (item) => {
          signal?.removeEventListener("abort", stopWaiting);
          resolve(item);
        },
        reject: (error) => {
          signal?.removeEventListener("abort", stopWaiting);
          reject(error);
        },
      };
      signal?.addEventListener("abort", stopWaiting, { once: true });
      this.queue.push(queued);
      this.dispatch();
    });
  }

  private dispatch(): void {
    // Until the endpoint has answered one batch, one at a time: a refusal then turns back every queued file at once.
    const limit = this.supported === true ? BATCHES_IN_FLIGHT : 1;
    while (this.inFlight < limit && this.queue.length > 0) {
      // A batch leaves full, or once it has lingered: fewer, fuller batches cost less than one per file.
      if (this.supported === true && this.queue.length < MAX_BATCH_REQUESTS) {
        this.lingering ??= setTimeout(() => {
          this.lingering = undefined;
          if (this.inFlight < BATCHES_IN_FLIGHT && this.queue.length > 0) this.sendNext();
        }, LINGER_MS);
        return;
      }
      this.sendNext();
    }
  }

  private sendNext(): void {
    if (this.lingering !== undefined) clearTimeout(this.lingering);
    this.lingering = undefined;
    const batch = this.queue.splice(0, MAX_BATCH_REQUESTS);
    while (this.waitingForRoom.length > 0 && this.queue.length < MAX_QUEUED_REQUESTS) this.waitingForRoom.shift()!();
    this.inFlight += 1;
    // Sent under no file's signal or deadline: the batch carries other files' requests too.
    void withSharedCallContext({}, () => this.send(batch)).finally(() => {
      this.inFlight -= 1;
      this.dispatch();
    });
  }

  private async send(batch: QueuedRequest[]): Promise<void> {
    const requests = batch.map((queued, index): BatchSubRequest => ({ ...queued.request, id: String(index + 1) }));
    for (const queued of batch) queued.attempts += 1;
    let answers: Awaited<ReturnType<GraphClient["sendBatch"]>>;
    try {
      // A batch sent again is one retry, counted once: for the file of its first request (which went again), never
      // for the file whose call chain happened to send the batch, which may not be in it.
      answers = await withCallContext({ tally: batch[0]!.tally ?? new RetryTally(), log: batch[0]!.log }, () => this.graph.sendBatch(requests));
    } catch (error) {
      // Never answered a batch yet (or already known not to): the files go back to the single-request path.
      if (error instanceof BatchUnsupportedError && this.supported !== true) {
        this.supported = false;
        this.refusal = error.cause;
        for (const queued of [...batch, ...this.queue.splice(0)]) queued.reject(error);
        for (const wake of this.waitingForRoom.splice(0)) wake();
        return;
      }
      // An endpoint that batched before and now refuses is failing, not unable: the files fail with its error.
      const failure = error instanceof BatchUnsupportedError ? error.cause : error;
      for (const queued of batch) queued.reject(failure);
      return;
    }
    this.supported = true;
    batch.forEach((queued, index) => this.settle(queued, requests[index], answers.get(requests[index].id)!));
  }

  private settle(queued: QueuedRequest, request: BatchSubRequest, answer: BatchSubResponse): void {
    if (answer.status >= 200 && answer.status < 300) {
      let item: DriveItem | undefined;
      try {
        item = subResponseJson<DriveItem>(answer);
      } catch (error) {
        queued.reject(error);
        return;
      }
      if (item === undefined || typeof item.id !== "string") queued.reject(new Error(`Graph answered ${request.method} ${request.url.split("?")[0]} in a batch with HTTP ${answer.status} but no item`));
      else {
        if (request.method === "PUT") this.uploadAccepted = true;
        queued.resolve(item);
      }
      return;
    }
    const error = subResponseError(request, answer, this.graph.baseUrl, this.options.now());
    if (request.method === "PUT" && !this.uploadAccepted && BATCHED_UPLOAD_REFUSED_STATUSES.has(answer.status)) {
      // The endpoint batches but will not take file content in a batch: files go one request at a time instead.
      this.supported = false;
      this.refusal = error;
      const refused = new BatchUnsupportedError(error);
      for (const waiting of [queued, ...this.queue.splice(0)]) waiting.reject(refused);
      for (const wake of this.waitingForRoom.splice(0)) wake();
      return;
    }
    const delayMs = retryDelayMs(error, queued.attempts, { ...this.options.retry, now: this.options.now });
    if (delayMs === undefined) {
      queued.reject(error);
      return;
    }
    if (error.retryAfterMs !== undefined && THROTTLE_STATUSES.has(error.status)) {
      // Throttling holds back every Graph request of the process (throttle.ts), this batch's next one included.
      this.graph.throttle.close(error.retryAfterMs, `${error.status} ${error.code} in a JSON batch${error.requestId ? ` (request id ${error.requestId})` : ""}`);
      queued.tally?.noteRetry();
      this.queue.push(queued);
      this.dispatch();
      return;
    }
    // Transient: this request alone waits as asked, then rides in a later batch.
    queued.tally?.noteRetry();
    queued.log?.(
      `Graph ${request.method} ${request.url.split("?")[0]} in a JSON batch: HTTP ${error.status} ${error.code}${error.requestId ? ` (request id ${error.requestId})` : ""}; retrying in ${(delayMs / 1000).toFixed(1)} s`,
    );
    this.options.sleep(delayMs).then(
      () => {
        this.queue.push(queued);
        this.dispatch();
      },
      (sleepError: unknown) => queued.reject(sleepError),
    );
  }
}
