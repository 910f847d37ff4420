/**
 * Fragment buffers shared by every transfer in a process. Each file needs one buffer for the fragment being sent and
 * would like a second for the read-ahead; the pool holds TRANSFER_CONCURRENCY + 2, so with several files in flight
 * some skip their read-ahead (the other files keep the link busy meanwhile) and process memory stays bounded however
 * many files, or host invocations, run at once.
 */
export class FragmentBufferPool {
  private readonly free: Buffer[] = [];
  private readonly waiting: ((buffer: Buffer) => void)[] = [];
  private readonly own = new WeakSet<Buffer>();
  private allocated = 0;

  constructor(readonly bufferSize: number, readonly capacity: number) {}

  /** A buffer now, or undefined when all are in use (the caller then does without a read-ahead). */
  tryAcquire(): Buffer | undefined {
    const reused = this.free.pop();
    if (reused) return reused;
    if (this.allocated >= this.capacity) return undefined;
    this.allocated += 1;
    const buffer = Buffer.allocUnsafe(this.bufferSize);
    this.own.add(buffer);
    return buffer;
  }

  /**
   * A buffer, waiting for one to be released if need be. Callers hold no buffer while they wait, and every holder
   * releases its buffer after its PUT, which needs nothing from the pool: so a waiter is always served.
   */
  acquire(): Promise<Buffer> {
    const buffer = this.tryAcquire();
    return buffer ? Promise.resolve(buffer) : new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Returns a buffer from this pool; any other buffer is ignored (left to the garbage collector). */
  release(buffer: Buffer): void {
    if (!this.own.has(buffer)) return;
    const next = this.waiting.shift();
    if (next) next(buffer);
    else this.free.push(buffer);
  }
}
