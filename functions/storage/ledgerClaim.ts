import { claimFields, releasedClaimFields, type LedgerChanges, type LedgerRecord } from "./ledgerRow";

/** Where a claimed row's writes go: straight to the table, or through a batcher that groups them in transactions. */
export interface GuardedRowWriter {
  /** Merge guarded by the row ETag; resolves the new ETag, rejects with ClaimLostError when the ETag moved on. */
  writeGuarded(blobName: string, changes: LedgerChanges, rowEtag: string): Promise<string>;
}

/** Another worker took the claim (or it lapsed and was taken): stop without writing anything else. */
export class ClaimLostError extends Error {
  constructor(readonly blobName: string, reason = "to another worker") {
    super(`Lost the claim on blob "${blobName}" ${reason}`);
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
/**
 * A holder stops this long before its lease would lapse without a successful write: by the time another worker may
 * take the row, this one has stopped working on it (clocks of two hosts differ by a few seconds at most).
 */
const LAPSE_MARGIN_MS = 10_000;

export class ClaimedRow {
  /** Writes go one at a time: each needs the ETag the previous one returned. */
  private writeChain: Promise<void> = Promise.resolve();
  private writesInFlight = 0;
  private readonly lapse = new AbortController();
  private lapseTimer?: NodeJS.Timeout;

  /**
   * Aborted when the claim can no longer be trusted: no write (a renewal, a checkpoint) has landed for nearly a lease,
   * or a write found the row taken. The work under the claim runs under it, so it stops before another worker starts.
   */
  readonly signal: AbortSignal = this.lapse.signal;

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
    this.writesInFlight += 1;
    const next = this.writeChain.then(write);
    this.writeChain = next.then(
      () => {
        this.writesInFlight -= 1;
        this.rearmLapse();
      },
      (error: unknown) => {
        this.writesInFlight -= 1;
        if (error instanceof ClaimLostError) this.lapse.abort(error);
      },
    );
    return next;
  }

  /** Starts watching the lease (real time, whatever clock the claim's fields are written with). */
  watchLapse(): void {
    this.rearmLapse(true);
  }

  /** Stops watching: the work is over (the claim is released or left to lapse). */
  stopWatchingLapse(): void {
    clearTimeout(this.lapseTimer);
    this.lapseTimer = undefined;
  }

  private rearmLapse(start = false): void {
    if (!start && this.lapseTimer === undefined) return;
    clearTimeout(this.lapseTimer);
    this.lapseTimer = setTimeout(() => this.lapse.abort(new ClaimLostError(this.record.blobName, "its claim could not be renewed in time")), Math.max(0, this.options.leaseMs - LAPSE_MARGIN_MS));
    this.lapseTimer.unref();
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

  /**
   * The periodic renewal. A write already on its way carries the claim's new expiry itself, so the renewal does not
   * queue behind it (a stalled write would hold every renewal queued after it); the lapse watch covers a write that
   * never lands.
   */
  renewUnlessWriting(): Promise<void> {
    return this.writesInFlight > 0 ? Promise.resolve() : this.renew();
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
