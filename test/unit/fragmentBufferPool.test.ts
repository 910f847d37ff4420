import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FragmentBufferPool } from "../../functions/transfer/fragmentBufferPool";

const BUFFER_BYTES = 16;

function takeAll(pool: FragmentBufferPool): Buffer[] {
  const taken: Buffer[] = [];
  for (let buffer = pool.tryAcquire(); buffer; buffer = pool.tryAcquire()) taken.push(buffer);
  return taken;
}

describe("FragmentBufferPool.forTransfers", () => {
  test("one file gets two buffers: the fragment being sent and its read-ahead", () => {
    const pool = FragmentBufferPool.forTransfers(BUFFER_BYTES, 1);
    const taken = takeAll(pool);
    assert.equal(taken.length, 2);
    assert.notEqual(taken[0], taken[1]);
    for (const buffer of taken) assert.equal(buffer.length, BUFFER_BYTES);
  });

  test("four files get one buffer each, and read ahead only with a buffer another file is not using", () => {
    const pool = FragmentBufferPool.forTransfers(BUFFER_BYTES, 4);
    assert.equal(pool.capacity, 4);
    assert.equal(takeAll(pool).length, 4);
  });

  test("two files share two buffers between them", () => {
    assert.equal(FragmentBufferPool.forTransfers(BUFFER_BYTES, 2).capacity, 2);
  });

  test("a released buffer is handed out again instead of a new one", () => {
    const pool = FragmentBufferPool.forTransfers(BUFFER_BYTES, 2);
    const taken = takeAll(pool);
    pool.release(taken[1]);
    assert.equal(pool.tryAcquire(), taken[1]);
    assert.equal(pool.tryAcquire(), undefined);
  });

  test("a waiter is served by the next release, not before", async () => {
    const pool = FragmentBufferPool.forTransfers(BUFFER_BYTES, 1);
    const taken = takeAll(pool);
    let served: Buffer | undefined;
    const waiting = pool.acquire().then((buffer) => (served = buffer));
    // The pool is empty and nothing was released: flushing the microtask queue must leave the waiter waiting.
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(served, undefined);
    pool.release(taken[0]);
    assert.equal(await waiting, taken[0]);
  });

  test("a buffer the pool did not hand out is not taken in", () => {
    const pool = FragmentBufferPool.forTransfers(BUFFER_BYTES, 1);
    takeAll(pool);
    pool.release(Buffer.alloc(BUFFER_BYTES));
    assert.equal(pool.tryAcquire(), undefined);
  });

  test("a concurrency below one is refused", () => {
    assert.throws(() => FragmentBufferPool.forTransfers(BUFFER_BYTES, 0), RangeError);
    assert.throws(() => FragmentBufferPool.forTransfers(BUFFER_BYTES, 1.5), RangeError);
  });
});
