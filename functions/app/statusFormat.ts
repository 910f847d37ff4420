import { formatBytes } from "../cli/humanSummary";
import { escapeControlCharacters } from "../transfer/blobNameText";

/** How the status page and `npm run status` write numbers, times and names, so both read the same. */
export { formatBytes };

export function formatRate(bytesPerSecond: number): string {
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** "45 s", "3 min 20 s", "2 h 05 min", "3 d 4 h": two units at most. */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.round(totalSeconds));
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ${String(Math.floor((seconds % 3600) / 60)).padStart(2, "0")} min`;
  return `${Math.floor(seconds / 86_400)} d ${Math.floor((seconds % 86_400) / 3600)} h`;
}

/** An ISO time as "2026-12-06 04:05:06 UTC" (the app runs in UTC; so do its schedules). */
export function formatTime(iso: string | undefined): string {
  const time = Date.parse(iso ?? "");
  if (!Number.isFinite(time)) return "unknown";
  return `${new Date(time).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** "5 min ago", for a time before `now`. */
export function formatAgo(iso: string | undefined, now: number): string {
  const time = Date.parse(iso ?? "");
  if (!Number.isFinite(time)) return "unknown";
  return now - time < 1000 ? "just now" : `${formatDuration((now - time) / 1000)} ago`;
}

export function plural(count: number, word: string, plural = `${word}s`): string {
  return `${count} ${count === 1 ? word : plural}`;
}

/**
 * Text from the ledger (blob names, service messages) made safe to show on one line: control characters are written
 * as \uXXXX, so a name cannot forge a line or move a terminal's cursor. HTML escaping is the page's own step.
 */
export function displayText(text: string): string {
  return escapeControlCharacters(text);
}
