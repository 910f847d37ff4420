import { setFlagsFromString } from "node:v8";

/**
 * Switches V8's incremental marking off for this process, so the collector frees the old generation in one go when
 * it reaches its limit. A transfer streams every byte through short-lived buffers (the socket's reads and the HTTP
 * client's copies of each body chunk), and in a process that keeps transferring, V8, after its first full
 * collection, begins a new incremental marking every few tens of milliseconds with the heap far below its limit,
 * which can more than double a transfer's CPU time. The engine's heap is small (tens of MB), so a collection done at
 * once pauses for milliseconds.
 *
 * Called by the production entry points (the CLI's engine and the function app's dependencies), once their process
 * is theirs; V8 reads the flag each time it decides how to collect, so setting it after start takes effect (a test
 * watches the collector's own events). Glibc's allocator settings, the other half, can only be set before start:
 * see MEMORY_ALLOCATOR_SETTINGS.
 */
export function collectWithoutIncrementalMarking(): void {
  setFlagsFromString("--no-incremental-marking");
}
