import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";
import { SettingsReader, type SettingsSource } from "../config/settings";

/**
 * An upload URL is where a blob's bytes go, and it is stored in a ledger row that others may be able to write. The
 * seal (HMAC-SHA256 over the URL, stored beside it) shows that this deployment received the URL from Graph itself;
 * a recorded URL whose seal does not verify is never contacted. Graph documents the URL as opaque, on a host that
 * differs by drive type and cloud, so provenance is checked, not the host name.
 */

const HKDF_SALT = "onedrive-connector";
const HKDF_INFO = "onedrive-connector/upload-url-seal/hmac-sha256/v1";
const SEAL_VERSION = "v1";

export class UploadUrlSeal {
  readonly #key: Buffer;
  /** Where the key comes from, for the documentation and the tests; never the key or its secret. */
  readonly keySource: "UPLOAD_URL_SEAL_KEY" | "CLIENT_SECRET" | "GRAPH_ACCESS_TOKEN" | "this process only";

  private constructor(key: Buffer, keySource: UploadUrlSeal["keySource"]) {
    this.#key = key;
    this.keySource = keySource;
  }

  /** A key for nothing but this seal, derived with HKDF and its own label, so it never equals the secret itself. */
  static fromSecret(secret: string, keySource: "UPLOAD_URL_SEAL_KEY" | "CLIENT_SECRET" | "GRAPH_ACCESS_TOKEN"): UploadUrlSeal {
    return new UploadUrlSeal(Buffer.from(hkdfSync("sha256", Buffer.from(secret, "utf8"), HKDF_SALT, HKDF_INFO, 32)), keySource);
  }

  /**
   * A random key known to this process alone: a session this process created can be resumed by it, and a URL
   * recorded by any other process is never trusted (a new session is started instead).
   */
  static forThisProcessOnly(): UploadUrlSeal {
    return new UploadUrlSeal(randomBytes(32), "this process only");
  }

  seal(uploadUrl: string): string {
    return `${SEAL_VERSION}.${this.mac(uploadUrl).toString("base64url")}`;
  }

  /** The seal was made by this deployment's key over this very URL. */
  verifies(uploadUrl: string, seal: string | undefined): boolean {
    if (!seal) return false;
    const [version, mac, ...rest] = seal.split(".");
    if (version !== SEAL_VERSION || mac === undefined || rest.length > 0) return false;
    const given = Buffer.from(mac, "base64url");
    const expected = this.mac(uploadUrl);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  /** Keeps the key out of console.log / util.inspect / JSON of objects holding the seal. */
  toJSON(): string {
    return `UploadUrlSeal(${this.keySource})`;
  }

  private mac(uploadUrl: string): Buffer {
    return createHmac("sha256", this.#key).update(uploadUrl, "utf8").digest();
  }
}

let processOnlySeal: UploadUrlSeal | undefined;

/** One random key per process, shared by its engines, so a process resumes the sessions it created itself. */
export function processOnlyUploadUrlSeal(): UploadUrlSeal {
  processOnlySeal ??= UploadUrlSeal.forThisProcessOnly();
  return processOnlySeal;
}

/**
 * The deployment's seal: from UPLOAD_URL_SEAL_KEY (app-only deployments), else CLIENT_SECRET (every delegated
 * deployment has it), else GRAPH_ACCESS_TOKEN (the local emulator and tests), else a key for this process only.
 */
export function uploadUrlSealFor(source: SettingsSource): UploadUrlSeal {
  const reader = new SettingsReader(source);
  // App-only deployments have no client secret: the template keeps a random key of their own in Key Vault.
  const sealKey = reader.raw("UPLOAD_URL_SEAL_KEY");
  if (sealKey !== undefined) return UploadUrlSeal.fromSecret(sealKey, "UPLOAD_URL_SEAL_KEY");
  const clientSecret = reader.raw("CLIENT_SECRET");
  if (clientSecret !== undefined) return UploadUrlSeal.fromSecret(clientSecret, "CLIENT_SECRET");
  const fixedToken = reader.raw("GRAPH_ACCESS_TOKEN");
  if (fixedToken !== undefined) return UploadUrlSeal.fromSecret(fixedToken, "GRAPH_ACCESS_TOKEN");
  return processOnlyUploadUrlSeal();
}
