import { setFlagsFromString } from "node:v8";

/**
 * Switches V8's incremental marking off for this process, so the collector frees the old generation in one go when
 * it reaches its limit. A transfer streams every byte through short-lived buffers (the socket's reads and the HTTP
 * client's copies of each body chunk), and in a process that keeps transferring, V8, after its first full
 * collection, began a new incremental marking every few tens of milliseconds with the heap far below its limit.
 * Measured in one process transferring 1 GiB eight times in a row: 20-160 full collections and 2.2-4.4 CPU-seconds a
 * GiB with V8's defaults, 0-3 collections and 1.8-2.0 CPU-seconds with this (wall time 3.1-4.5 s against 2.8-3.0 s).
 * The engine's heap is small (tens of MB), so a collection done at once pauses for milliseconds.
 *
 * Called by the production entry points (the CLI's engine and the function app's dependencies), once their process
 * is theirs; V8 reads the flag each time it decides how to collect, so setting it after start takes effect (a test
 * watches the collector's own events). Glibc's allocator settings, the other half, can only be set before start:
 * see MEMORY_ALLOCATOR_SETTINGS.
 */
export function collectWithoutIncrementalMarking(): void {
  setFlagsFromString("--no-incremental-marking");
}
