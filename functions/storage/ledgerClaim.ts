import { claimFields, releasedClaimFields, type LedgerChanges, type LedgerRecord } from "./ledgerRow";

/** Where a claimed row's writes go: straight to the table, or through a batcher that groups them in transactions. */
export interface GuardedRowWriter {
  /** Merge guarded by the row ETag; resolves the new ETag, rejects with ClaimLostError when the ETag moved on. */
  writeGuarded(blobName: string, changes: LedgerChanges, rowEtag: string): Promise<string>;
}

/** Another worker took the claim (or it lapsed and was taken): stop without writing anything else. */
export class ClaimLostError extends Error {
  constructor(readonly blobName: string) {
    super(`Lost the claim on blob "${blobName}" to another worker`);
    this.name = "ClaimLostError";
  }
}

export interface ClaimOptions {
  owner: string;
  leaseMs: number;
  now?: () => number;
  /**
   * The row as a bulk read just returned it (null: no row), to claim without reading it again; a stale one only
   * costs the ETag-guarded write a retry.
   */
  known?: LedgerRecord | null;
  /** Claim even a row whose claim has not lapsed when this says its holder is provably gone. */
  takeOver?: (held: LedgerRecord) => boolean;
}

/**
 * A claimed ledger row. Every write is guarded by the row's ETag, so a holder whose claim lapsed and was taken
 * learns it on its next write (ClaimLostError) instead of overwriting the new holder's progress.
 */
export class ClaimedRow {
  /** Writes go one at a time: each needs the ETag the previous one returned. */
  private writeChain: Promise<void> = Promise.resolve();

  /**
   * The row still held a claim when this one was taken: its previous holder stopped without releasing it (a crash,
   * a killed host), possibly after OneDrive committed the file but before the ledger recorded it.
   */
  readonly interruptedBefore: boolean;

  constructor(
    private readonly writer: GuardedRowWriter,
    public record: LedgerRecord,
    private rowEtag: string,
    private readonly options: Required<Omit<ClaimOptions, "known" | "takeOver">>,
    previous?: LedgerRecord,
  ) {
    this.interruptedBefore = Boolean(previous?.claimOwner);
  }

  get owner(): string {
    return this.options.owner;
  }

  /** Writes the changes and extends the claim. */
  update(changes: LedgerChanges): Promise<void> {
    return this.serialise(() => this.write(changes));
  }

  private serialise(write: () => Promise<void>): Promise<void> {
    const next = this.writeChain.then(write);
    this.writeChain = next.catch(() => undefined);
    return next;
  }

  private async write(changes: LedgerChanges): Promise<void> {
    const withClaim: LedgerChanges = { ...changes, ...claimFields(this.options.owner, this.options.leaseMs, this.options.now()) };
    this.rowEtag = await this.writer.writeGuarded(this.record.blobName, this.changedFields(withClaim), this.rowEtag);
    this.record = { ...this.record, ...withClaim };
  }

  /**
   * Only what differs from the row as this holder knows it: every write is guarded by the row's ETag, so the row is
   * exactly `record` when the write lands. Clearing a field the row never had, or rewriting a value it already
   * holds, would only make each ledger write (a small file's main cost besides its bytes) bigger.
   */
  private changedFields(changes: LedgerChanges): LedgerChanges {
    const changed: LedgerChanges = {};
    const current = this.record as unknown as Record<string, unknown>;
    for (const [key, value] of Object.entries(changes)) {
      if (value !== current[key]) (changed as Record<string, unknown>)[key] = value;
    }
    return changed;
  }

  renew(): Promise<void> {
    return this.update({});
  }

  /** Renews the claim now if less than `minimumMs` of it is left (a row claimed in a batch, then queued a while). */
  async ensureLease(minimumMs: number): Promise<void> {
    const expiresAt = Date.parse(this.record.claimExpiresAt ?? "");
    if (!(expiresAt - this.options.now() >= minimumMs)) await this.renew();
  }

  /** Final write: records the outcome and lets the claim go. */
  release(changes: LedgerChanges): Promise<void> {
    return this.serialise(() => this.writeRelease(changes));
  }

  private async writeRelease(changes: LedgerChanges): Promise<void> {
    const released: LedgerChanges = { ...changes, ...releasedClaimFields(this.options.now()) };
    this.rowEtag = await this.writer.writeGuarded(this.record.blobName, this.changedFields(released), this.rowEtag);
    this.record = { ...this.record, ...released };
    for (const key of ["claimOwner", "claimExpiresAt"] as const) delete this.record[key];
  }
}
