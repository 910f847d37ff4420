import { appendFileSync } from "node:fs";

/**
 * Loaded into every node process of a tree with `NODE_OPTIONS=--require <this file>`: appends the process's
 * command line to PROCESS_PROBE_FILE, so a test can see which programs a command really started (npm itself, the
 * script it runs, any compiler).
 */
const probeFile = process.env.PROCESS_PROBE_FILE;
if (probeFile) appendFileSync(probeFile, `${[process.execPath, ...process.argv.slice(1)].join(" ")}\n`);
