import type { BlobFragment, BlobSource, SourceBlob } from "../storage/blobSource";

/**
 * Reads a blob fragment by fragment, one fragment ahead: while fragment N is being PUT, fragment N+1 is being read.
 * At most two fragments are held per file whatever its size: the one being sent and the one read ahead.
 */
export class FragmentReader {
  private ahead?: Promise<BlobFragment>;
  private aheadOffset = -1;

  constructor(
    private readonly source: BlobSource,
    private readonly blob: SourceBlob,
    private readonly fragmentSize: number,
  ) {}

  fragmentLength(offset: number): number {
    return Math.min(this.fragmentSize, this.blob.size - offset);
  }

  /** Bytes [offset, offset + fragmentLength(offset)), from the read-ahead when it matches. */
  async read(offset: number): Promise<BlobFragment> {
    const ahead = this.ahead;
    const aheadOffset = this.aheadOffset;
    this.ahead = undefined;
    if (ahead && aheadOffset === offset) return ahead;
    // The server asked for another offset (a partial store, a resend): drop the read-ahead, but let it finish so no
    // download outlives its use and memory stays at two fragments.
    if (ahead) await ahead.catch(() => undefined);
    return this.source.readFragment(this.blob, offset, this.fragmentLength(offset));
  }

  /** Starts reading the fragment at `offset` while the caller uploads the current one. */
  readAhead(offset: number): void {
    if (offset >= this.blob.size || this.ahead) return;
    this.aheadOffset = offset;
    this.ahead = this.source.readFragment(this.blob, offset, this.fragmentLength(offset));
    this.ahead.catch(() => undefined); // surfaced when read() awaits it
  }

  /** Waits for any read still in flight, so no download outlives the transfer. */
  async settle(): Promise<void> {
    await this.ahead?.catch(() => undefined);
    this.ahead = undefined;
  }
}

/** Feeds a fragment's chunks to a hash indexed by absolute offset. */
export function hashFragment(fragment: BlobFragment, updateAt: (offset: number, bytes: Uint8Array) => void): void {
  let offset = fragment.offset;
  for (const chunk of fragment.chunks) {
    updateAt(offset, chunk);
    offset += chunk.length;
  }
}
