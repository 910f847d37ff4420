import { MultiBar, Presets, type SingleBar } from "cli-progress";
import type { SourceBlob } from "../storage/blobSource";
import type { FileOutcome } from "../transfer/blobTransfer";
import type { SweepObserver } from "../transfer/sweep";
import { formatBytes } from "./humanSummary";

type Output = NodeJS.WriteStream;

/** Said even under --json (on stderr): a run that waits for another run's claim must not look hung. */
export function waitingLine(blob: SourceBlob, message: string): string {
  return `waiting   ${blob.name}: ${message}\n`;
}

/** On a terminal: a bar per file in flight and a total bar with bytes/s. Elsewhere: one plain line per file. */
export function createProgressDisplay(output: Output): SweepObserver & { stop(): void } {
  return output.isTTY ? terminalProgress(output) : plainProgress(output);
}

function plainProgress(output: Output): SweepObserver & { stop(): void } {
  return {
    onFileStart: (blob, path) => output.write(`start     ${blob.name} → ${path} (${formatBytes(blob.size)})\n`),
    // One line per confirmed fragment, so a cron log shows a large file moving (and where it stopped).
    onFileProgress: (blob, confirmedBytes) => {
      if (confirmedBytes < blob.size) output.write(`progress  ${blob.name} ${confirmedBytes}/${blob.size} bytes\n`);
    },
    onFileWaiting: (blob, message) => output.write(waitingLine(blob, message)),
    onFileDone: (outcome: FileOutcome) => {
      if (outcome.status === "skipped" && outcome.fragments === 0 && !outcome.warning) return;
      const detail = outcome.error ? `: ${outcome.error}` : outcome.status === "uploaded" ? ` (${formatBytes(outcome.bytes)} in ${outcome.fragments} fragment${outcome.fragments === 1 ? "" : "s"})` : "";
      output.write(`${outcome.status.padEnd(9)} ${outcome.blob}${detail}\n`);
    },
    stop: () => undefined,
  };
}

function terminalProgress(output: Output): SweepObserver & { stop(): void } {
  const multibar = new MultiBar(
    {
      stream: output,
      clearOnComplete: false,
      hideCursor: true,
      format: "{label} |{bar}| {percentage}% {done}/{size} {speed}",
      formatValue: (value, _options, type) => (type === "percentage" ? String(value).padStart(3) : String(value)),
    },
    Presets.shades_classic,
  );
  const startedAt = Date.now();
  let totalBytes = 0;
  let confirmedElsewhere = 0;
  const confirmedPerFile = new Map<string, number>();
  const total = multibar.create(1, 0, { label: "total".padEnd(28), done: "0 B", size: "0 B", speed: "" });
  const bars = new Map<string, SingleBar>();
  const refreshTotal = () => {
    let confirmed = confirmedElsewhere;
    for (const bytes of confirmedPerFile.values()) confirmed += bytes;
    const seconds = (Date.now() - startedAt) / 1000;
    total.setTotal(Math.max(totalBytes, 1));
    total.update(confirmed, { done: formatBytes(confirmed), size: formatBytes(totalBytes), speed: seconds > 0 ? `${formatBytes(confirmed / seconds)}/s` : "" });
  };
  return {
    onFileStart: (blob: SourceBlob) => {
      totalBytes += blob.size;
      const label = blob.name.length > 28 ? `…${blob.name.slice(-27)}` : blob.name.padEnd(28);
      bars.set(blob.name, multibar.create(Math.max(blob.size, 1), 0, { label, done: "0 B", size: formatBytes(blob.size), speed: "" }));
      refreshTotal();
    },
    onFileProgress: (blob: SourceBlob, confirmedBytes: number) => {
      confirmedPerFile.set(blob.name, confirmedBytes);
      bars.get(blob.name)?.update(confirmedBytes, { done: formatBytes(confirmedBytes) });
      refreshTotal();
    },
    onFileWaiting: (blob: SourceBlob, message: string) => {
      bars.get(blob.name)?.update({ done: "waiting" });
      multibar.log(waitingLine(blob, message));
    },
    onFileDone: (outcome: FileOutcome, blob: SourceBlob) => {
      const bar = bars.get(blob.name);
      if (!bar) return;
      confirmedPerFile.delete(blob.name);
      confirmedElsewhere += outcome.status === "uploaded" ? blob.size : 0;
      bar.update(outcome.status === "uploaded" ? Math.max(blob.size, 1) : 0, { done: outcome.status });
      multibar.remove(bar);
      bars.delete(blob.name);
      refreshTotal();
    },
    stop: () => multibar.stop(),
  };
}
