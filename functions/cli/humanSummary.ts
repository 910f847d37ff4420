import type { SweepSummary } from "../transfer/sweep";

export function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/**
 * The report a person reads after a run: where the files went, each file with its fragments, each folder with its
 * files, then totals.
 */
export function formatHumanSummary(summary: SweepSummary, elapsedMs: number, destination?: string): string {
  const lines: string[] = destination === undefined ? [] : [`destination ${destination}`];
  const filesPerFolder = new Map<string, number>();
  for (const file of summary.files) {
    if (file.status === "uploaded") {
      lines.push(`  uploaded  ${file.blob} → ${file.path}  ${formatBytes(file.bytes)} in ${plural(file.fragments, "fragment")}${file.warning ? `  (warning: ${file.warning})` : ""}`);
      const folder = file.path.includes("/") ? file.path.slice(0, file.path.lastIndexOf("/")) : "(drive root)";
      filesPerFolder.set(folder, (filesPerFolder.get(folder) ?? 0) + 1);
    } else if (file.status === "failed") {
      lines.push(`  FAILED    ${file.blob}: ${file.error ?? "unknown error"}`);
    } else if (file.status !== "skipped") {
      lines.push(`  ${file.status.padEnd(9)} ${file.blob}${file.error ? `: ${file.error}` : ""}`);
    }
  }
  for (const [folder, count] of [...filesPerFolder].sort()) lines.push(`  folder    ${folder}: ${plural(count, "file")} uploaded`);
  const seconds = elapsedMs / 1000;
  const rate = seconds > 0 && summary.bytes > 0 ? ` (${formatBytes(summary.bytes / seconds)}/s)` : "";
  lines.push(
    `${plural(summary.uploaded, "file")} uploaded, ${summary.skipped} skipped, ${summary.failed} failed` +
      `${summary.unfinished > 0 ? `, ${summary.unfinished} unfinished` : ""}; ` +
      `${formatBytes(summary.bytes)} in ${seconds.toFixed(1)} s${rate}`,
  );
  return lines.join("\n");
}
