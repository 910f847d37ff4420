import { readFileSync } from "node:fs";

/**
 * This process's own peak resident set in KiB. On Linux, resourceUsage().maxRSS also counts the resident set of the
 * parent at the fork that started this process (the bench's, 170 MB and more), so a child smaller than the bench
 * reported the bench's size; /proc/self/status VmHWM belongs to this program's memory alone.
 */
export function ownPeakRssKiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]);
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS;
}
