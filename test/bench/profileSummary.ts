import { readFileSync } from "node:fs";

/**
 * `node dist/test/bench/profileSummary.js <file.cpuprofile> [top]`: where a bench child spent its CPU (from
 * BENCH_CPU_PROF runs), as self time by function and by module, so a missed figure can be traced to its cost.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

function moduleOf(url: string): string {
  if (url === "") return "(native/V8)";
  if (url.startsWith("node:")) return url;
  const nodeModules = url.lastIndexOf("node_modules/");
  if (nodeModules >= 0) {
    const rest = url.slice(nodeModules + "node_modules/".length).split("/");
    return rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const dist = url.indexOf("/dist/");
  return dist >= 0 ? url.slice(dist + 1) : url;
}

function top(map: Map<string, number>, count: number, totalMs: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => `${ms.toFixed(0).padStart(7)} ms ${((100 * ms) / totalMs).toFixed(1).padStart(5)}%  ${name}`);
}

function main(): void {
  const [file, countText] = process.argv.slice(2);
  if (!file) throw new Error("usage: profileSummary <file.cpuprofile> [top]");
  const count = Number(countText ?? 25);
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfByFunction = new Map<string, number>();
  const selfByModule = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  profile.samples.forEach((id, index) => {
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    const frame = byId.get(id)?.callFrame;
    if (!frame) return;
    totalMs += ms;
    if (frame.functionName === "(idle)") {
      idleMs += ms;
      return;
    }
    const name = `${frame.functionName || "(anonymous)"} ${moduleOf(frame.url)}:${frame.lineNumber + 1}`;
    selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + ms);
    const module = frame.functionName.startsWith("(") ? frame.functionName : moduleOf(frame.url);
    selfByModule.set(module, (selfByModule.get(module) ?? 0) + ms);
  });
  const busyMs = totalMs - idleMs;
  process.stdout.write(`${file}: ${(totalMs / 1000).toFixed(2)} s sampled, ${(busyMs / 1000).toFixed(2)} s busy, ${(idleMs / 1000).toFixed(2)} s idle\n\n`);
  process.stdout.write(`self time by module (share of busy time)\n${top(selfByModule, count, busyMs).join("\n")}\n\n`);
  process.stdout.write(`self time by function\n${top(selfByFunction, count, busyMs).join("\n")}\n`);
}

main();
