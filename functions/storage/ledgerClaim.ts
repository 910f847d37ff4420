import type { Ledger, LedgerChanges, LedgerRecord } from "./ledger";

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
}

/**
 * A claimed ledger row. Every write is guarded by the row's ETag, so a holder whose claim lapsed and was taken
 * learns it on its next write (ClaimLostError) instead of overwriting the new holder's progress.
 */
export class ClaimedRow {
  /** Writes go one at a time: each needs the ETag the previous one returned. */
  private writeChain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ledger: Ledger,
    public record: LedgerRecord,
    private rowEtag: string,
    private readonly options: Required<Omit<ClaimOptions, "known">>,
  ) {}

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
    const withClaim: LedgerChanges = {
      ...changes,
      claimOwner: this.options.owner,
      claimExpiresAt: new Date(this.options.now() + this.options.leaseMs).toISOString(),
      updatedAt: new Date(this.options.now()).toISOString(),
    };
    this.rowEtag = await this.ledger.writeGuarded(this.record.blobName, withClaim, this.rowEtag);
    this.record = { ...this.record, ...withClaim };
  }

  renew(): Promise<void> {
    return this.update({});
  }

  /** Final write: records the outcome and lets the claim go. */
  release(changes: LedgerChanges): Promise<void> {
    return this.serialise(() => this.writeRelease(changes));
  }

  private async writeRelease(changes: LedgerChanges): Promise<void> {
    const released: LedgerChanges = { ...changes, claimOwner: undefined, claimExpiresAt: undefined, updatedAt: new Date(this.options.now()).toISOString() };
    this.rowEtag = await this.ledger.writeGuarded(this.record.blobName, released, this.rowEtag);
    this.record = { ...this.record, ...released };
    for (const key of ["claimOwner", "claimExpiresAt"] as const) delete this.record[key];
  }
}
