/**
 * Where the Graph client gets its bearer token. Sign-in (MSAL, token cache in Key Vault) implements this; the
 * client asks before every attempt, so a refreshed token is picked up by retries.
 */
export interface AccessTokenProvider {
  getAccessToken(): Promise<string>;
}

/** A fixed token: tests, the emulator demo, a token pasted for a one-off run. */
export class StaticAccessTokenProvider implements AccessTokenProvider {
  readonly #token: string;

  constructor(token: string) {
    if (token.trim() === "") throw new Error("StaticAccessTokenProvider needs a non-empty access token");
    this.#token = token;
  }

  getAccessToken(): Promise<string> {
    return Promise.resolve(this.#token);
  }

  /** Keeps the token out of console.log / util.inspect / JSON of objects holding the provider. */
  toJSON(): string {
    return "StaticAccessTokenProvider";
  }
}
