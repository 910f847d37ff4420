import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * The sign-in transaction (state, nonce, PKCE verifier) travels in a sealed cookie rather than server memory,
 * because the callback may land on another Flex instance. `__Host-` pins it to this host, Secure and Path=/.
 */
export const TRANSACTION_COOKIE_NAME = "__Host-onedrive-signin";
export const TRANSACTION_LIFETIME_SECONDS = 600;

const HKDF_SALT = "onedrive-connector";
const HKDF_INFO = "onedrive-connector/signin-transaction-cookie/aes-256-gcm/v1";
const FORMAT_VERSION = "v1";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export interface SignInTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
  /** Unix milliseconds after which the callback refuses the transaction. */
  expiresAt: number;
}

export type OpenedTransaction =
  | { ok: true; transaction: SignInTransaction }
  | { ok: false; reason: "missing" | "forged" | "expired" };

/**
 * A key for nothing but this cookie, derived from CLIENT_SECRET with HKDF and its own label, so no extra secret
 * has to be provisioned and the cookie key never equals the client secret itself.
 */
export function deriveCookieKey(clientSecret: string): Buffer {
  return Buffer.from(hkdfSync("sha256", Buffer.from(clientSecret, "utf8"), HKDF_SALT, HKDF_INFO, 32));
}

export function sealTransaction(transaction: SignInTransaction, key: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(`${TRANSACTION_COOKIE_NAME}|${FORMAT_VERSION}`));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(transaction), "utf8"), cipher.final()]);
  return `${FORMAT_VERSION}.${Buffer.concat([iv, ciphertext, cipher.getAuthTag()]).toString("base64url")}`;
}

export function openTransaction(sealed: string | undefined, key: Buffer, now: number = Date.now()): OpenedTransaction {
  if (!sealed) return { ok: false, reason: "missing" };
  const [version, payload, ...rest] = sealed.split(".");
  if (version !== FORMAT_VERSION || payload === undefined || rest.length > 0) return { ok: false, reason: "forged" };
  const bytes = Buffer.from(payload, "base64url");
  if (bytes.length < IV_BYTES + TAG_BYTES + 2) return { ok: false, reason: "forged" };
  let transaction: SignInTransaction;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(`${TRANSACTION_COOKIE_NAME}|${FORMAT_VERSION}`));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    const plaintext = Buffer.concat([decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
    transaction = JSON.parse(plaintext.toString("utf8")) as SignInTransaction;
  } catch {
    return { ok: false, reason: "forged" };
  }
  if (typeof transaction.expiresAt !== "number" || now >= transaction.expiresAt) return { ok: false, reason: "expired" };
  return { ok: true, transaction };
}

/** Compares two strings in time independent of where they differ (hashing first evens out the lengths). */
export function constantTimeEquals(left: string, right: string): boolean {
  const leftDigest = createHash("sha256").update(left, "utf8").digest();
  const rightDigest = createHash("sha256").update(right, "utf8").digest();
  return timingSafeEqual(leftDigest, rightDigest);
}

/** The value of one cookie from a Cookie request header, or undefined. */
export function readCookie(cookieHeader: string | null | undefined, name: string): string | undefined {
  if (!cookieHeader) return undefined;
  for (const part of cookieHeader.split(";")) {
    const separator = part.indexOf("=");
    if (separator < 0) continue;
    if (part.slice(0, separator).trim() === name) return part.slice(separator + 1).trim();
  }
  return undefined;
}
