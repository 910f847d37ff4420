import { appendFileSync } from "node:fs";
import { Session } from "node:inspector";
import { basename } from "node:path";
import type { ProcessRecord } from "./benchProtocol";
import { ownPeakRssKiB } from "./ownPeakRss";

/**
 * Loaded into every node process of a timed `npm run transfer` through NODE_OPTIONS=--require: npm's own node and
 * the node its script starts. When the process exits it appends one line (ProcessRecord) to the file named by
 * BENCH_PROCESS_RECORDS, so the bench learns each process's peak RSS and CPU without a sampler of its own running
 * inside the command it times. One short appendFileSync is atomic on Linux, so processes ending together do not
 * interleave their lines.
 *
 * With BENCH_CPU_PROFILE_STEM set the process also profiles itself through the inspector: node 20 refuses
 * --cpu-prof in NODE_OPTIONS, and the profile written here has the same format (profileSummary.js reads both).
 */

const recordFile = process.env.BENCH_PROCESS_RECORDS;
const profileStem = process.env.BENCH_CPU_PROFILE_STEM;

function startProfiler(): Session {
  const session = new Session();
  session.connect();
  session.post("Profiler.enable");
  session.post("Profiler.start");
  return session;
}

/** An in-process inspector session answers synchronously, so the profile is on disk before the process ends. */
function writeProfile(session: Session, path: string): string | undefined {
  let written: string | undefined;
  session.post("Profiler.stop", (error, answer) => {
    if (error) return;
    appendFileSync(path, JSON.stringify(answer.profile));
    written = path;
  });
  return written;
}

if (recordFile) {
  const profiler = profileStem ? startProfiler() : undefined;
  process.once("exit", (exitCode) => {
    // Taken before the profile is serialised, which costs CPU and memory the command itself never spent.
    const cpu = process.cpuUsage();
    const usage = process.resourceUsage();
    const peakRssKiB = ownPeakRssKiB();
    const profilePath = profiler ? writeProfile(profiler, `${profileStem}.${basename(process.argv[1] ?? "node")}.${process.pid}.cpuprofile`) : undefined;
    const record: ProcessRecord = {
      pid: process.pid,
      ppid: process.ppid,
      argv: process.argv,
      exitCode,
      uptimeMs: Math.round(process.uptime() * 1000),
      cpuUserMs: Math.round(cpu.user / 1000),
      cpuSystemMs: Math.round(cpu.system / 1000),
      peakRssKiB,
      minorPageFaults: usage.minorPageFault,
      ...(profilePath ? { cpuProfile: profilePath } : {}),
    };
    appendFileSync(recordFile, `${JSON.stringify(record)}\n`);
  });
}
