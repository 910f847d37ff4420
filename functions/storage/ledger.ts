import { createHash } from "node:crypto";
import { createDefaultHttpClient, RestError, type HttpClient } from "@azure/core-rest-pipeline";
import { odata, type TableClient, type TableEntityResult } from "@azure/data-tables";
import { boundedHttpClient } from "../http/attemptTimeout";
import { ClaimedRow, ClaimLostError, type ClaimOptions, type GuardedRowWriter } from "./ledgerClaim";
import { claimFields, isLiveClaimOfOther, type LedgerChanges, type LedgerRecord } from "./ledgerRow";
import { STORAGE_ATTEMPT_TIMEOUTS_MS } from "./storageClients";
import { submitEntityGroup, type EntityValue } from "./tableTransaction";

export { ClaimedRow, ClaimLostError, type ClaimOptions, type GuardedRowWriter } from "./ledgerClaim";

/** When a sweep last ran and what it queued (for the status endpoint). */
export interface SweepRunRecord {
  runId: string;
  /** "timer", "http" or "cli". */
  trigger: string;
  startedAt: string;
  finishedAt: string;
  /** Blobs listed under the prefix. */
  listed: number;
  /** Messages the sweep put on the queue. */
  queued: number;
}

const SWEEP_RUNS_PARTITION = "_sweepruns";
const SWEEP_HISTORY_PARTITION_PREFIX = "_sweeps_";
/** Sweeps the status keeps per container. */
export const SWEEP_HISTORY_LENGTH = 10;
/** Larger than any millisecond timestamp until the year 2286, so its complement sorts newest first as text. */
const TIME_COMPLEMENT = 9_999_999_999_999;

function sweepHistoryRowKey(run: SweepRunRecord): string {
  const started = Date.parse(run.startedAt);
  const newestFirst = String(TIME_COMPLEMENT - (Number.isFinite(started) ? started : 0)).padStart(13, "0");
  return `${newestFirst}_${ledgerRowKey(run.runId).slice(0, 16)}`;
}

function sweepRunOf(entity: Record<string, unknown>): SweepRunRecord {
  return {
    runId: String(entity.runId ?? ""),
    trigger: String(entity.trigger ?? ""),
    startedAt: String(entity.startedAt ?? ""),
    finishedAt: String(entity.finishedAt ?? ""),
    listed: Number(entity.listed ?? 0),
    queued: Number(entity.queued ?? 0),
  };
}

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : (error as { statusCode?: number })?.statusCode;
}

/** Row keys may not hold `/ \ # ?` or control characters, and blob names can; a hash is fixed-length and safe. */
export function ledgerRowKey(blobName: string): string {
  return createHash("sha256").update(blobName, "utf8").digest("hex");
}

/**
 * A container's rows are spread over 16 partitions, by the first hex digit of the row key. One partition serves at
 * most about 2,000 entity writes a second (Azure Table scalability targets), and a sweep of small files writes two
 * rows a file; 16 partitions keep a busy container far from that ceiling. Azurite, too, looks a row up by scanning
 * its partition, so smaller partitions make every claim and record cheaper there.
 */
export const LEDGER_SHARDS = "0123456789abcdef";

/** Where a blob's row lives: `<container>_<shard>` ("_" cannot appear in a container name) and its row key. */
export interface LedgerRowAddress {
  partitionKey: string;
  rowKey: string;
}

function shardOfRowKey(rowKey: string): string {
  return rowKey[0];
}

/** Which of a container's partitions holds the blob's row (a transaction can only write rows of one partition). */
export function ledgerShardOf(blobName: string): string {
  return shardOfRowKey(ledgerRowKey(blobName));
}

/** Table storage rejects undefined; clearing a field is writing null... which it also rejects, so use "". */
function toEntityFields(changes: LedgerChanges): Record<string, EntityValue> {
  const fields: Record<string, EntityValue> = {};
  for (const [key, value] of Object.entries(changes)) fields[key] = value === undefined ? "" : (value as EntityValue);
  return fields;
}

/** The table row ETag each record was read with, kept beside it (not in it, so it is never written back). */
const rowEtags = new WeakMap<LedgerRecord, string>();

/** The row ETag a record was read with, if it came from the table. */
export function rowEtagOf(record: LedgerRecord): string | undefined {
  return rowEtags.get(record);
}

/** One row's part in a transaction: create a row that must not exist, or merge into one guarded by its ETag. */
export type LedgerRowWrite =
  | { kind: "create"; record: LedgerRecord }
  | { kind: "merge"; blobName: string; changes: LedgerChanges; rowEtag: string };

function rowWriteBlobName(write: LedgerRowWrite): string {
  return write.kind === "create" ? write.record.blobName : write.blobName;
}

/** The most rows one entity-group transaction may carry. */
export const MAX_ROWS_PER_TRANSACTION = 100;

function fromEntity(entity: TableEntityResult<Record<string, unknown>>): LedgerRecord {
  const record: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(entity)) {
    if (key === "partitionKey" || key === "rowKey" || key === "etag" || key === "timestamp" || key.startsWith("odata")) continue;
    if (value !== "" && value !== null) record[key] = value;
  }
  const typed = record as unknown as LedgerRecord;
  typed.confirmedBytes = Number(typed.confirmedBytes ?? 0);
  typed.fragments = Number(typed.fragments ?? 0);
  typed.attempts = Number(typed.attempts ?? 0);
  typed.size = Number(typed.size ?? 0);
  if (typed.hashedBytes !== undefined) typed.hashedBytes = Number(typed.hashedBytes);
  if (entity.etag) rowEtags.set(typed, entity.etag);
  return typed;
}

/** The transfer ledger: one row per blob, a source container's rows spread over LEDGER_SHARDS partitions. */
export class Ledger implements GuardedRowWriter {
  private tableReady?: Promise<void>;
  private readonly transactionTransport: HttpClient;

  /**
   * `readOnly`: for a status reader, which may hold a role that reads tables but cannot create one: the table is
   * never created, and a table that does not exist yet reads as empty. `transport`: the table client's own (its
   * transactions are sent through its pipeline with it; see tableTransaction.ts); a bounded default otherwise.
   */
  constructor(
    private readonly table: TableClient,
    private readonly container: string,
    private readonly options: { readOnly?: boolean; transport?: HttpClient } = {},
  ) {
    this.transactionTransport = options.transport ?? boundedHttpClient(createDefaultHttpClient(), STORAGE_ATTEMPT_TIMEOUTS_MS.table);
  }

  /** The partition and row key of a blob's row. */
  addressOf(blobName: string): LedgerRowAddress {
    const rowKey = ledgerRowKey(blobName);
    return { partitionKey: `${this.container}_${shardOfRowKey(rowKey)}`, rowKey };
  }

  ensureTable(): Promise<void> {
    if (this.options.readOnly) return Promise.resolve();
    this.tableReady ??= this.table.createTable().catch((error: unknown) => {
      this.tableReady = undefined;
      if (statusOf(error) !== 409) throw error;
    });
    return this.tableReady;
  }

  async get(blobName: string): Promise<LedgerRecord | undefined> {
    const entity = await this.getEntity(blobName);
    return entity ? fromEntity(entity) : undefined;
  }

  /**
   * Every row of the container, by blob name: one paged query (1,000 rows a page) per partition, all at once, never
   * one request per blob. Each partition is asked by equality: a range over partition keys is a scan in Azurite.
   */
  async readAll(): Promise<Map<string, LedgerRecord>> {
    await this.ensureTable();
    const records = new Map<string, LedgerRecord>();
    await Promise.all(
      [...LEDGER_SHARDS].map(async (shard) => {
        const filter = odata`PartitionKey eq ${`${this.container}_${shard}`}`;
        try {
          for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter } })) {
            const record = fromEntity(entity);
            records.set(record.blobName, record);
          }
        } catch (error) {
          if (!(this.options.readOnly && statusOf(error) === 404)) throw error;
        }
      }),
    );
    return records;
  }

  /**
   * The rows of these blobs, by blob name. A listing shorter than the number of partitions costs fewer requests read
   * row by row (a run for one large file reads one row, not sixteen partitions); a longer one reads every partition.
   */
  async readRowsOf(blobNames: readonly string[]): Promise<Map<string, LedgerRecord>> {
    if (blobNames.length >= LEDGER_SHARDS.length) return this.readAll();
    const records = new Map<string, LedgerRecord>();
    await Promise.all(
      blobNames.map(async (blobName) => {
        const record = await this.get(blobName).catch((error: unknown) => {
          if (this.options.readOnly && statusOf(error) === 404) return undefined;
          throw error;
        });
        if (record) records.set(blobName, record);
      }),
    );
    return records;
  }

  /** Unguarded merge for bookkeeping that does not need a claim (queue marks). */
  async merge(blobName: string, changes: LedgerChanges): Promise<void> {
    await this.ensureTable();
    const fields = toEntityFields({ ...changes, updatedAt: new Date().toISOString() });
    try {
      await this.table.updateEntity({ ...this.addressOf(blobName), ...fields }, "Merge");
    } catch (error) {
      if (statusOf(error) !== 404) throw error;
      await this.table.upsertEntity({ ...this.addressOf(blobName), blobName, status: "pending", confirmedBytes: 0, fragments: 0, attempts: 0, size: 0, destinationPath: "", blobEtag: "", ...fields }, "Merge");
    }
  }

  /**
   * Takes the row's claim for `owner` if nobody holds an unexpired one. Returns undefined when another worker holds it.
   * `initial` seeds a row that does not exist yet.
   */
  async claim(blobName: string, initial: Omit<LedgerRecord, "blobName">, options: ClaimOptions, writer: GuardedRowWriter = this): Promise<ClaimedRow | undefined> {
    await this.ensureTable();
    const { known, takeOver, ...rest } = options;
    const resolved: Required<Omit<ClaimOptions, "known" | "takeOver">> = { now: Date.now, ...rest };
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const now = resolved.now();
      const fields = claimFields(resolved.owner, resolved.leaseMs, now);
      const existing = attempt === 0 && known !== undefined && (known === null || rowEtags.has(known)) ? knownRow(known) : await this.getRow(blobName);
      if (!existing) {
        const record: LedgerRecord = { blobName, ...initial, ...fields };
        try {
          const response = await this.table.createEntity({ ...this.addressOf(blobName), ...toEntityFields(record) });
          return new ClaimedRow(writer, record, response.etag ?? "*", resolved);
        } catch (error) {
          if (statusOf(error) === 409) continue;
          throw error;
        }
      }
      const { record } = existing;
      if (isLiveClaimOfOther(record, resolved.owner, now) && !takeOver?.(record)) return undefined;
      try {
        const etag = await this.writeGuarded(blobName, fields, existing.etag);
        return new ClaimedRow(writer, { ...record, ...fields }, etag, resolved, record);
      } catch (error) {
        if (error instanceof ClaimLostError) continue;
        throw error;
      }
    }
    return undefined;
  }

  /** Notes that a message for this blob version is on the transfer queue, so a sweep does not queue it again. */
  markQueued(blobName: string, blobEtag: string, at: Date): Promise<void> {
    return this.merge(blobName, { queuedEtag: blobEtag, queuedAt: at.toISOString() });
  }

  /** Clears the queue mark, so the next sweep queues the blob again. */
  clearQueued(blobName: string): Promise<void> {
    return this.merge(blobName, { queuedEtag: undefined, queuedAt: undefined });
  }

  /**
   * Sweep runs live in their own partitions: "_" cannot appear in a container name, so no container's rows (and so
   * no readAll of one) ever include them. One row per container, overwritten by each sweep, plus a short history.
   */
  async recordSweepRun(run: SweepRunRecord): Promise<void> {
    await this.ensureTable();
    await this.table.upsertEntity({ partitionKey: SWEEP_RUNS_PARTITION, rowKey: ledgerRowKey(this.container), container: this.container, ...run }, "Replace");
    await this.recordSweepHistory(run);
  }

  /**
   * Keeps the run in the container's short history too: partition `_sweeps_<container>` (no ledger partition starts
   * with "_"), row keys that sort newest first, and every row beyond SWEEP_HISTORY_LENGTH deleted, so the history
   * stays a few rows whatever the schedule.
   */
  private async recordSweepHistory(run: SweepRunRecord): Promise<void> {
    const partitionKey = this.sweepHistoryPartition();
    await this.table.upsertEntity({ partitionKey, rowKey: sweepHistoryRowKey(run), ...run }, "Replace");
    const rows: Array<{ partitionKey: string; rowKey: string }> = [];
    for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` } })) {
      rows.push({ partitionKey, rowKey: String(entity.rowKey) });
    }
    rows.sort((a, b) => a.rowKey.localeCompare(b.rowKey));
    await Promise.all(rows.slice(SWEEP_HISTORY_LENGTH).map((row) => this.table.deleteEntity(row.partitionKey, row.rowKey).catch((error: unknown) => {
      if (statusOf(error) !== 404) throw error;
    })));
  }

  /** The latest sweeps of this container, newest first (at most SWEEP_HISTORY_LENGTH). */
  async recentSweepRuns(): Promise<SweepRunRecord[]> {
    await this.ensureTable();
    const runs: Array<{ rowKey: string; run: SweepRunRecord }> = [];
    try {
      for await (const entity of this.table.listEntities<Record<string, unknown>>({ queryOptions: { filter: odata`PartitionKey eq ${this.sweepHistoryPartition()}` } })) {
        runs.push({ rowKey: String(entity.rowKey), run: sweepRunOf(entity) });
      }
    } catch (error) {
      if (!(this.options.readOnly && statusOf(error) === 404)) throw error;
    }
    return runs.sort((a, b) => a.rowKey.localeCompare(b.rowKey)).slice(0, SWEEP_HISTORY_LENGTH).map(({ run }) => run);
  }

  private sweepHistoryPartition(): string {
    return `${SWEEP_HISTORY_PARTITION_PREFIX}${this.container}`;
  }

  async lastSweepRun(): Promise<SweepRunRecord | undefined> {
    await this.ensureTable();
    try {
      return sweepRunOf(await this.table.getEntity<Record<string, unknown>>(SWEEP_RUNS_PARTITION, ledgerRowKey(this.container)));
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }

  /**
   * Writes several rows of one partition (one shard: group them with `ledgerShardOf`) in one entity-group
   * transaction, each row at most once, at most MAX_ROWS_PER_TRANSACTION: all or none. Resolves each row's new ETag
   * in order (undefined if the service did not return one); any failed condition rejects the whole transaction and
   * writes nothing.
   */
  async writeRows(writes: LedgerRowWrite[]): Promise<(string | undefined)[]> {
    await this.ensureTable();
    const addresses = writes.map((write) => this.addressOf(rowWriteBlobName(write)));
    const partitionKey = addresses[0]?.partitionKey;
    if (addresses.some((address) => address.partitionKey !== partitionKey)) {
      throw new RangeError("Ledger.writeRows takes rows of one partition only (group them by ledgerShardOf)");
    }
    const answers = await submitEntityGroup(
      this.table,
      this.transactionTransport,
      writes.map((write, index) =>
        write.kind === "create"
          ? { kind: "create", ...addresses[index], properties: toEntityFields(write.record) }
          : { kind: "merge", ...addresses[index], properties: toEntityFields(write.changes), etag: write.rowEtag },
      ),
    );
    // A transaction answers its operations in order.
    return answers.map((answer) => answer.etag);
  }

  /** The row's current ETag (after a transaction that did not report it). */
  async currentRowEtag(blobName: string): Promise<string | undefined> {
    return (await this.getEntity(blobName))?.etag;
  }

  /** Merge guarded by the row ETag; returns the new ETag. */
  async writeGuarded(blobName: string, changes: LedgerChanges, rowEtag: string): Promise<string> {
    try {
      const response = await this.table.updateEntity(
        { ...this.addressOf(blobName), ...toEntityFields(changes) },
        "Merge",
        { etag: rowEtag },
      );
      return response.etag ?? rowEtag;
    } catch (error) {
      if (statusOf(error) === 412 || statusOf(error) === 404) throw new ClaimLostError(blobName);
      throw error;
    }
  }

  private async getRow(blobName: string): Promise<{ record: LedgerRecord; etag: string } | undefined> {
    const entity = await this.getEntity(blobName);
    return entity ? { record: fromEntity(entity), etag: entity.etag } : undefined;
  }

  private async getEntity(blobName: string): Promise<TableEntityResult<Record<string, unknown>> | undefined> {
    await this.ensureTable();
    try {
      const { partitionKey, rowKey } = this.addressOf(blobName);
      return await this.table.getEntity<Record<string, unknown>>(partitionKey, rowKey);
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw error;
    }
  }
}

function knownRow(known: LedgerRecord | null): { record: LedgerRecord; etag: string } | undefined {
  return known === null ? undefined : { record: known, etag: rowEtags.get(known) ?? "*" };
}

