import type { BlobSource, SourceBlob } from "../storage/blobSource";
import type { FragmentBufferPool } from "./fragmentBufferPool";

interface PendingRead {
  offset: number;
  buffer: Buffer;
  bytes: Promise<Buffer>;
}

/**
 * Reads a blob fragment by fragment, one fragment ahead when a buffer is free: while fragment N is being PUT from
 * one buffer, fragment N+1 is read into another. A file holds at most two fragment buffers whatever its size; a
 * file that fits in one fragment uses a buffer of its own size instead of a pooled one.
 */
export class FragmentReader {
  /** The fragment last handed out, kept until the next read or settle (its buffer is the pool's). */
  private current?: { offset: number; buffer: Buffer; bytes: Buffer };
  private ahead?: PendingRead;

  constructor(
    private readonly source: BlobSource,
    private readonly blob: SourceBlob,
    private readonly pool: FragmentBufferPool,
  ) {}

  fragmentLength(offset: number): number {
    return Math.min(this.pool.bufferSize, this.blob.size - offset);
  }

  /**
   * Bytes [offset, offset + fragmentLength(offset)), from the read-ahead when it matches. Calling it for another
   * offset means the previous fragment has been sent: its buffer goes back to the pool. Calling it for the same offset
   * returns the same bytes without reading them again (the blob is pinned to its ETag, so they cannot have changed).
   */
  async read(offset: number): Promise<Buffer> {
    if (this.current?.offset === offset) return this.current.bytes;
    this.releaseCurrent();
    const ahead = this.ahead;
    this.ahead = undefined;
    if (ahead && ahead.offset === offset) {
      let bytes: Buffer;
      try {
        bytes = await ahead.bytes;
      } catch (error) {
        this.giveBack(ahead.buffer);
        throw error;
      }
      this.current = { offset, buffer: ahead.buffer, bytes };
      return bytes;
    }
    // The server asked for another offset (a partial store, a resend): drop the read-ahead, but let it finish
    // before its buffer is handed out again.
    if (ahead) {
      await ahead.bytes.catch(() => undefined);
      this.giveBack(ahead.buffer);
    }
    const buffer = await this.bufferFor();
    let bytes: Buffer;
    try {
      bytes = await this.source.readRange(this.blob, offset, this.fragmentLength(offset), buffer);
    } catch (error) {
      this.giveBack(buffer);
      throw error;
    }
    this.current = { offset, buffer, bytes };
    return bytes;
  }

  /** Starts reading the fragment at `offset` while the caller uploads the current one, if a buffer is free. */
  readAhead(offset: number): void {
    if (offset >= this.blob.size || this.ahead || this.current?.offset === offset) return;
    const buffer = this.blob.size <= this.pool.bufferSize ? Buffer.allocUnsafe(this.blob.size) : this.pool.tryAcquire();
    if (!buffer) return;
    const bytes = this.source.readRange(this.blob, offset, this.fragmentLength(offset), buffer);
    bytes.catch(() => undefined); // surfaced when read() awaits it
    this.ahead = { offset, buffer, bytes };
  }

  /** Waits for any read still in flight and returns every buffer, so nothing outlives the transfer. */
  async settle(): Promise<void> {
    const ahead = this.ahead;
    this.ahead = undefined;
    if (ahead) {
      await ahead.bytes.catch(() => undefined);
      this.giveBack(ahead.buffer);
    }
    this.releaseCurrent();
  }

  private bufferFor(): Promise<Buffer> {
    return this.blob.size <= this.pool.bufferSize ? Promise.resolve(Buffer.allocUnsafe(this.blob.size)) : this.pool.acquire();
  }

  private releaseCurrent(): void {
    if (this.current) this.giveBack(this.current.buffer);
    this.current = undefined;
  }

  private giveBack(buffer: Buffer): void {
    this.pool.release(buffer);
  }
}
