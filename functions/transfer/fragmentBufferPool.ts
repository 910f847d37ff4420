/**
 * Fragment buffers shared by every transfer in a process. Each file needs one buffer for the fragment being sent and
 * would like a second for the read-ahead; the pool holds one per file (see forTransfers), so with several
 * files in flight some skip their read-ahead (the other files keep the link busy meanwhile) and process memory stays
 * bounded however many files, or host invocations, run at once.
 */
export class FragmentBufferPool {
  /**
   * The pool for `transferConcurrency` files at once: one buffer per file, and never fewer than two. A single file
   * reads fragment N+1 into the second buffer while N is PUT (the 1 GiB case needs exactly two); with several files
   * a file reads ahead only into a buffer no other file is using, because the others' PUTs keep the link busy while
   * it reads. More buffers than files raise peak RSS without shortening the transfers.
   */
  static forTransfers(bufferSize: number, transferConcurrency: number): FragmentBufferPool {
    if (!Number.isInteger(transferConcurrency) || transferConcurrency < 1) throw new RangeError(`transferConcurrency must be a positive integer, got ${transferConcurrency}`);
    return new FragmentBufferPool(bufferSize, Math.max(2, transferConcurrency));
  }

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
