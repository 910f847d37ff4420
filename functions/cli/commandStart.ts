import { parseArgs } from "node:util";
import { errorText } from "../shared/errorText";
import { PROJECT_ROOT, staleBuildMessage } from "./buildFreshness";

/** Exit status of a command refused before it ran: bad arguments or an out-of-date build. */
const EXIT_CONFIGURATION = 2;

/**
 * The start every reporting command shares: `--json` and `--help` parsed, usage on a bad argument, and a refusal to
 * run code older than its sources. Either the command goes on (with `json`), or it ends with `exitCode`.
 */
export function startCommand(argv: string[], usage: string): { json: boolean } | { exitCode: number } {
  let json: boolean;
  try {
    const parsed = parseArgs({ args: argv, options: { json: { type: "boolean" }, help: { type: "boolean" } }, allowPositionals: false });
    if (parsed.values.help) {
      process.stdout.write(`${usage}\n`);
      return { exitCode: 0 };
    }
    json = parsed.values.json ?? false;
  } catch (error) {
    process.stderr.write(`${errorText(error)}\n\n${usage}\n`);
    return { exitCode: EXIT_CONFIGURATION };
  }
  const stale = staleBuildMessage(PROJECT_ROOT);
  if (stale) {
    process.stderr.write(`${stale}\n`);
    return { exitCode: EXIT_CONFIGURATION };
  }
  return { json };
}
