import { loadEngineSettings } from "../../../functions/config/settings";
import { StaticAccessTokenProvider } from "../../../functions/onedrive/accessToken";
import { TransferEngine, type AttemptTimeouts } from "../../../functions/transfer/transferEngine";
import { uploadUrlSealFor } from "../../../functions/transfer/uploadUrlTrust";

/**
 * One run of the chaos test, in a process of its own so the test can kill it (SIGKILL) mid-file: the real engine
 * with the CLI's claim behaviour (waitForClaims) and short per-attempt ceilings, settings from the environment.
 * Prints `progress <blob> <bytes>` lines while it works and the summary as the last line, as JSON.
 */
const SHORT: AttemptTimeouts = { graphMs: 2_000, uploadControlMs: 2_000, fragmentMs: () => 3_000, blobReadMs: () => 3_000 };

async function main(): Promise<void> {
  const settings = loadEngineSettings(process.env);
  const engine = new TransferEngine(settings, {
    tokenProvider: new StaticAccessTokenProvider(process.env.GRAPH_ACCESS_TOKEN ?? ""),
    waitForClaims: true,
    attemptTimeouts: SHORT,
    // As the CLI: a run resumes upload sessions an earlier (killed) run recorded.
    uploadUrlSeal: uploadUrlSealFor(process.env),
    log: { info: () => undefined, warn: (line) => process.stderr.write(`${line}\n`), error: (line) => process.stderr.write(`${line}\n`) },
  });
  const summary = await engine.sweep({ onFileProgress: (blob, bytes) => process.stdout.write(`progress ${blob.name} ${bytes}\n`) });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
}

void main().catch((error: unknown) => {
  process.stderr.write(`chaos run failed: ${String(error)}\n`);
  process.exitCode = 1;
});
