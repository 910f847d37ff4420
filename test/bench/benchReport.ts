import type { ChildResult } from "./benchProtocol";

/** One run (a bench child, or `npm run transfer`) with what the other processes spent while it ran. */
export interface Measurement {
  label: string;
  /** A BenchMode, or "transfer" for `npm run transfer`. */
  mode: string;
  result?: ChildResult;
  /** Why there is no usable result (crash, timeout, failed files). */
  problem?: string;
  /** Spawn to exit, including node start-up. */
  processWallMs: number;
  /** Orchestrator CPU while the child ran: the OneDrive emulator's work (the orchestrator only waits). */
  emulatorCpuMs: number;
  azuriteCpuMs?: number;
  /** HTTP requests to the Graph origin (a JSON batch counts once). */
  graphRequests: number;
  /** Requests that travelled inside JSON batches. */
  batchedRequests: number;
  uploadRequests: number;
  /** rclone runs: upload-URL requests the emulator let through with an Authorization header. */
  toleratedUploadAuthorizations?: number;
}

export interface Figure {
  name: string;
  value?: number;
  unit: string;
  /** Text shown in the target column; absent for figures reported without a target. */
  target?: string;
  pass?: boolean;
  note?: string;
}

const MIB = 1024 * 1024;

export function mibPerSecond(measurement: Measurement | undefined): number | undefined {
  const result = measurement?.result;
  return result && result.wallMs > 0 ? result.bytes / MIB / (result.wallMs / 1000) : undefined;
}

export function filesPerSecond(measurement: Measurement | undefined): number | undefined {
  const result = measurement?.result;
  return result && result.wallMs > 0 ? result.files / (result.wallMs / 1000) : undefined;
}

function formatNumber(value: number | undefined, unit: string): string {
  if (value === undefined || !Number.isFinite(value)) return "n/a";
  const digits = Number.isInteger(value) || Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${unit}`.trim();
}

function verdict(figure: Figure): string {
  if (figure.target === undefined) return "";
  if (figure.pass === undefined) return "n/a";
  return figure.pass ? "PASS" : "MISS";
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)));
  const line = (cells: string[]) => cells.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd();
  return [line(header), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

/** CPU seconds per GiB copied, medians over a leg's rounds (see runBench.ts cpuPerGib). */
export interface CpuPerGibRow {
  workload: string;
  leg: string;
  rounds: number;
  /** The run's own processes: the engine's CLI node and npm's, rclone, or a baseline's measured work. */
  own?: number;
  /** The bench process: the OneDrive emulator (and, for rclone, the emulator of its own and the proxy). */
  emulator?: number;
  azurite?: number;
  total?: number;
}

export function formatCpuPerGib(rows: CpuPerGibRow[]): string {
  const cell = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(value >= 100 ? 0 : 2));
  return table(
    ["workload", "run", "rounds", "own CPU s/GiB", "emulator CPU s/GiB", "Azurite CPU s/GiB", "total CPU s/GiB"],
    rows.map((row) => [row.workload, row.leg, String(row.rounds), cell(row.own), cell(row.emulator), cell(row.azurite), cell(row.total)]),
  );
}

export function formatFigures(figures: Figure[]): string {
  return table(
    ["figure", "value", "target", "result", "note"],
    figures.map((figure) => [figure.name, formatNumber(figure.value, figure.unit), figure.target ?? "-", verdict(figure), figure.note ?? ""]),
  );
}

const seconds = (ms: number | undefined) => (ms === undefined ? "n/a" : (ms / 1000).toFixed(2));

export function formatMeasurements(measurements: Measurement[]): string {
  return table(
    ["run", "wall s", "spawn to exit s", "child CPU s", "npm CPU s", "emulator CPU s", "Azurite CPU s", "child peak RSS MB", "child page faults", "Graph (batched)/upload requests", "problem"],
    measurements.map((measurement) => {
      const result = measurement.result;
      return [
        measurement.label,
        seconds(result?.wallMs),
        seconds(measurement.processWallMs),
        seconds(result ? result.cpuUserMs + result.cpuSystemMs : undefined),
        result?.launcherCpuMs === undefined ? "-" : seconds(result.launcherCpuMs),
        seconds(measurement.emulatorCpuMs),
        seconds(measurement.azuriteCpuMs),
        result ? (result.maxRssKiB / 1024).toFixed(0) : "n/a",
        result ? String(result.minorPageFaults) : "n/a",
        `${measurement.graphRequests}${measurement.batchedRequests ? ` (${measurement.batchedRequests})` : ""}/${measurement.uploadRequests}`,
        measurement.problem ?? "",
      ];
    }),
  );
}
