import type { FailureCause, TransferStatus } from "../storage/ledgerRow";

/** A failure as a person reads it: what happened, and what to do about it. */
export interface FailureAdvice {
  /** The cause in plain words. */
  cause: string;
  /** What to do (or that nothing needs doing). */
  action: string;
}

const ADVICE: Record<FailureCause, FailureAdvice> = {
  refusedName: {
    cause: "OneDrive does not allow this file name or path",
    action: "Rename the blob (no \" * : < > ? / \\ | characters, no reserved names, path under 400 characters); the next sweep uploads the renamed blob.",
  },
  nameConflict: {
    cause: "An item with this name already exists in the OneDrive folder",
    action: "Remove or rename the existing item, or set CONFLICT_BEHAVIOR to replace or rename; the next sweep tries again.",
  },
  quota: {
    cause: "The OneDrive is full",
    action: "Free space in the OneDrive or raise its quota; the next sweep tries again.",
  },
  throttled: {
    cause: "OneDrive asked the app to slow down (throttling)",
    action: "Nothing to do: the transfer waits as long as OneDrive asked and then continues by itself.",
  },
  relinkNeeded: {
    cause: "The OneDrive sign-in can no longer be used",
    action: "Relink the OneDrive account (the login route, or npm run login); the first sweep after that queues the file again.",
  },
  signInRefused: {
    cause: "OneDrive refused the app's sign-in",
    action: "Check that the account is still linked and the app registration unchanged; relink if the status says so.",
  },
  accessDenied: {
    cause: "The account may not write to the destination folder",
    action: "Check the account's permissions on the destination (Files.ReadWrite, or the site or drive's own permissions).",
  },
  refusedByOneDrive: {
    cause: "OneDrive refused the request",
    action: "Read the message and the error code; if it does not say what to change, contact support with the request id.",
  },
  uploadRejected: {
    cause: "The upload could not be completed or verified",
    action: "Nothing was kept; the next sweep uploads the file again from the start. If it keeps failing, contact support with the request id.",
  },
  blobChanged: {
    cause: "The blob was overwritten while it was being transferred",
    action: "Nothing to do: the next sweep transfers the new version.",
  },
  network: {
    cause: "The connection to OneDrive failed or timed out",
    action: "Nothing to do unless it persists: the next attempt resumes where OneDrive stands. If it persists, check the app's outbound network.",
  },
  serviceError: {
    cause: "OneDrive had a server error",
    action: "Nothing to do unless it persists: the next attempt resumes. If it persists, contact support with the request id.",
  },
  storage: {
    cause: "Reading the blob or writing the ledger failed",
    action: "Check the storage account (firewall, roles, availability); the next sweep tries again.",
  },
  poisoned: {
    cause: "The queue message failed on every attempt and went to the poison queue",
    action: "Read the message for the cause; the next sweep queues the file again. Clear the poison queue once it is understood.",
  },
  unexpected: {
    cause: "An unexpected error",
    action: "Read the message; the next sweep tries again. If it repeats, check the function's log in Application Insights.",
  },
};

/** What a failed or unfinished row means and what to do; rows written before causes were recorded read "unknown". */
export function adviceFor(cause: FailureCause | undefined, status: TransferStatus): FailureAdvice {
  if (cause && Object.hasOwn(ADVICE, cause)) return ADVICE[cause];
  return {
    cause: status === "failed" ? "The transfer failed" : "The last attempt did not finish",
    action: "Read the message; the next sweep tries again.",
  };
}
