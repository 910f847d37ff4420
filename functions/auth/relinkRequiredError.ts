/**
 * The stored grant can no longer produce tokens (revoked, expired after 90 idle days, consent withdrawn, or no
 * account linked yet). Only a person can fix it, so the engine stops at once, touches no blob, and surfaces this.
 */
export class RelinkRequiredError extends Error {
  readonly code = "RelinkRequired";
  /** Why the link is unusable, without any token material; shown by the status endpoint. */
  readonly reason: string;

  constructor(reason: string) {
    super(`OneDrive link needs renewing: open /api/auth/login (or run \`npm run login\`) and sign in with the OneDrive account again. Reason: ${reason}`);
    this.name = "RelinkRequiredError";
    this.reason = reason;
  }
}

export function isRelinkRequiredError(error: unknown): error is RelinkRequiredError {
  return error instanceof RelinkRequiredError || (error instanceof Error && (error as { code?: unknown }).code === "RelinkRequired");
}
