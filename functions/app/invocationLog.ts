import type { InvocationContext } from "@azure/functions";
import type { TransferLog } from "../transfer/blobTransfer";
import { escapeControlCharacters } from "../transfer/blobNameText";

/**
 * The engine's log lines go to the invocation's log, so they carry its invocation id in Application Insights. Blob
 * names and remote error texts end up in these lines; escaping control characters keeps each message one line that
 * no name can end early or follow with a forged one.
 */
export function invocationLog(context: InvocationContext): TransferLog {
  return {
    info: (message) => context.log(escapeControlCharacters(message)),
    warn: (message) => context.warn(escapeControlCharacters(message)),
    error: (message) => context.error(escapeControlCharacters(message)),
  };
}
