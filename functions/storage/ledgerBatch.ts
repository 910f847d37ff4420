import { ClaimedRow, ClaimLostError, type ClaimOptions, type GuardedRowWriter } from "./ledgerClaim";
import { ledgerShardOf, MAX_ROWS_PER_TRANSACTION, rowEtagOf, type Ledger, type LedgerRowWrite } from "./ledger";
import { claimFields, isLiveClaimOfOther, type LedgerChanges, type LedgerRecord } from "./ledgerRow";

/**
 * Ledger writes grouped into entity-group transactions. A small file costs little more than its ledger round trips,
 * so a sweep over many of them claims rows a batch at a time and records their outcomes a batch at a time: one
 * request and one storage commit for up to 100 rows instead of one each.
 */

interface PendingWrite {
  blobName: string;
  changes: LedgerChanges;
  rowEtag: string;
  resolve(etag: string): void;
  reject(error: unknown): void;
}

export interface WriteBatcherOptions {
  /** How long the first queued write waits for others to join it. */
  lingerMs: number;
  maxRows?: number;
}

/**
 * Group commit for guarded row writes: a write waits at most `lingerMs` for others, then all go in one transaction
 * per ledger partition. A transaction is all or nothing, so when one row's condition fails the batch is retried row
 * by row: the others are written and only that row's writer learns it lost its claim.
 */
export class LedgerWriteBatcher implements GuardedRowWriter {
  /** Writes waiting, by ledger shard: a transaction writes rows of one partition only. */
  private queued = new Map<string, PendingWrite[]>();
  private timer?: NodeJS.Timeout;
  private draining = false;

  constructor(private readonly ledger: Ledger, private readonly options: WriteBatcherOptions) {}

  writeGuarded(blobName: string, changes: LedgerChanges, rowEtag: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const shard = ledgerShardOf(blobName);
      let writes = this.queued.get(shard);
      // A row appears at most once in a transaction: a second write to a queued row goes out with the batch first.
      if (writes?.some((write) => write.blobName === blobName)) {
        this.flushShard(shard);
        writes = undefined;
      }
      if (!writes) this.queued.set(shard, (writes = []));
      writes.push({ blobName, changes, rowEtag, resolve, reject });
      if (writes.length >= (this.options.maxRows ?? MAX_ROWS_PER_TRANSACTION)) this.flushShard(shard);
      else if (this.draining) {
        if (writes.length === 1) queueMicrotask(() => this.flush());
      } else this.timer ??= setTimeout(() => this.flush(), this.options.lingerMs);
    });
  }

  /**
   * No more company is coming (the sweep has no file left to start): sends what is queued now, and from here on
   * sends each write without lingering (writes made in the same tick still share a transaction).
   */
  drain(): void {
    this.draining = true;
    this.flush();
  }

  /** Sends whatever is queued now. */
  flush(): void {
    for (const shard of [...this.queued.keys()]) this.flushShard(shard);
  }

  private flushShard(shard: string): void {
    const batch = this.queued.get(shard) ?? [];
    this.queued.delete(shard);
    // The linger timer is for writes still waiting; with none left it would only hold the process open.
    if (this.queued.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (batch.length > 0) void this.send(batch);
  }

  private async send(batch: PendingWrite[]): Promise<void> {
    if (batch.length > 1) {
      let etags: (string | undefined)[] | undefined;
      try {
        etags = await this.ledger.writeRows(batch.map((write) => ({ kind: "merge", blobName: write.blobName, changes: write.changes, rowEtag: write.rowEtag })));
      } catch {
        // Nothing was written: each row is tried alone below, so one lost claim does not fail the others.
      }
      if (etags) {
        const written = etags;
        await Promise.all(batch.map((write, index) => (written[index] !== undefined ? Promise.resolve(written[index]!) : this.reread(write)).then(write.resolve, write.reject)));
        return;
      }
    }
    await Promise.all(
      batch.map((write) => this.ledger.writeGuarded(write.blobName, write.changes, write.rowEtag).then(write.resolve, write.reject)),
    );
  }

  private async reread(write: PendingWrite): Promise<string> {
    const etag = await this.ledger.currentRowEtag(write.blobName);
    if (etag === undefined) throw new ClaimLostError(write.blobName);
    return etag;
  }
}

export interface ClaimRequest {
  blobName: string;
  /** Seeds the row when it does not exist yet. */
  initial: Omit<LedgerRecord, "blobName">;
  /** The row as the sweep's bulk read returned it; null when it had none. */
  known: LedgerRecord | null;
}

/**
 * Claims rows in transactions of up to 100 rows of one ledger partition (a sweep hands them over grouped by shard,
 * so a batch is mostly one transaction). Resolves, in order, the claimed row or undefined when another worker
 * holds it. When a transaction fails (a row created or claimed meanwhile by someone else), its rows are claimed one
 * by one, which re-reads each and settles every race the usual way.
 */
export async function claimRowsTogether(
  ledger: Ledger,
  requests: ClaimRequest[],
  options: Omit<ClaimOptions, "known" | "takeOver">,
  writer: GuardedRowWriter,
): Promise<(ClaimedRow | undefined)[]> {
  await ledger.ensureTable();
  const resolved: Required<Omit<ClaimOptions, "known" | "takeOver">> = { now: Date.now, ...options };
  const claimed: (ClaimedRow | undefined)[] = new Array(requests.length).fill(undefined);
  const now = resolved.now();
  const fields = claimFields(resolved.owner, resolved.leaseMs, now);
  const together: { index: number; write: LedgerRowWrite; record: LedgerRecord; previous?: LedgerRecord }[] = [];
  const alone: number[] = [];
  requests.forEach((request, index) => {
    const { known } = request;
    if (known === null) {
      const record: LedgerRecord = { blobName: request.blobName, ...request.initial, ...fields };
      together.push({ index, write: { kind: "create", record }, record });
      return;
    }
    const rowEtag = rowEtagOf(known);
    if (isLiveClaimOfOther(known, resolved.owner, now)) return;
    if (rowEtag === undefined) return alone.push(index);
    together.push({ index, write: { kind: "merge", blobName: request.blobName, changes: fields, rowEtag }, record: { ...known, ...fields }, previous: known });
  });

  const byShard = new Map<string, typeof together>();
  for (const entry of together) {
    const shard = ledgerShardOf(entry.record.blobName);
    const entries = byShard.get(shard);
    if (entries) entries.push(entry);
    else byShard.set(shard, [entry]);
  }
  const groups = [...byShard.values()].flatMap((entries) =>
    Array.from({ length: Math.ceil(entries.length / MAX_ROWS_PER_TRANSACTION) }, (_, index) => entries.slice(index * MAX_ROWS_PER_TRANSACTION, (index + 1) * MAX_ROWS_PER_TRANSACTION)),
  );
  for (const group of groups) {
    let etags: (string | undefined)[] | undefined;
    try {
      etags = await ledger.writeRows(group.map((entry) => entry.write));
    } catch {
      alone.push(...group.map((entry) => entry.index));
      continue;
    }
    for (const [position, entry] of group.entries()) {
      const etag = etags[position] ?? (await ledger.currentRowEtag(entry.record.blobName));
      if (etag !== undefined) claimed[entry.index] = new ClaimedRow(writer, entry.record, etag, resolved, entry.previous);
    }
  }
  await Promise.all(
    alone.map(async (index) => {
      const request = requests[index];
      claimed[index] = await ledger.claim(request.blobName, request.initial, resolved, writer);
    }),
  );
  return claimed;
}
