import type { InvocationContext } from "@azure/functions";
import type { TransferLog } from "../transfer/blobTransfer";

/** The engine's log lines go to the invocation's log, so they carry its invocation id in Application Insights. */
export function invocationLog(context: InvocationContext): TransferLog {
  return {
    info: (message) => context.log(message),
    warn: (message) => context.warn(message),
    error: (message) => context.error(message),
  };
}
