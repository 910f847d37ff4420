import type { BlobSource, SourceBlob } from "../storage/blobSource";

interface PendingRead {
  offset: number;
  length: number;
  bytes: Promise<Buffer>;
}

/**
 * Reads a blob fragment by fragment into two reusable buffers, one fragment ahead: while fragment N is being
 * PUT from one buffer, fragment N+1 is read into the other. Memory per file is two fragments whatever its size.
 */
export class FragmentReader {
  private readonly buffers: Buffer[] = [];
  private nextBuffer = 0;
  private ahead?: PendingRead;

  constructor(
    private readonly source: BlobSource,
    private readonly blob: SourceBlob,
    private readonly fragmentSize: number,
  ) {}

  fragmentLength(offset: number): number {
    return Math.min(this.fragmentSize, this.blob.size - offset);
  }

  /** Bytes [offset, offset + fragmentLength(offset)), from the read-ahead when it matches. */
  async read(offset: number): Promise<Buffer> {
    const ahead = this.ahead;
    this.ahead = undefined;
    if (ahead && ahead.offset === offset) return ahead.bytes;
    // The server asked for another offset (a partial store, a resend): drop the read-ahead, but let it finish
    // before its buffer is handed out again.
    if (ahead) await ahead.bytes.catch(() => undefined);
    return this.startRead(offset).bytes;
  }

  /** Starts reading the fragment after `offset` while the caller uploads the current one. */
  readAhead(offset: number): void {
    if (offset >= this.blob.size || this.ahead) return;
    this.ahead = this.startRead(offset);
    this.ahead.bytes.catch(() => undefined); // surfaced when read() awaits it
  }

  /** Waits for any read still in flight, so no download outlives the transfer. */
  async settle(): Promise<void> {
    await this.ahead?.bytes.catch(() => undefined);
    this.ahead = undefined;
  }

  private startRead(offset: number): PendingRead {
    const length = this.fragmentLength(offset);
    const index = this.nextBuffer;
    this.nextBuffer = 1 - this.nextBuffer;
    this.buffers[index] ??= Buffer.allocUnsafe(Math.min(this.fragmentSize, this.blob.size));
    return { offset, length, bytes: this.source.readRange(this.blob, offset, length, this.buffers[index]) };
  }
}
