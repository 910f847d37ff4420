import { readFile } from "node:fs/promises";
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import type { TokenCredential } from "@azure/identity";
import type { SecretClientOptions } from "@azure/keyvault-secrets";
import { createDefaultHttpClient } from "@azure/core-rest-pipeline";
import { boundedHttpClient } from "../http/attemptTimeout";
import type { CertificateSource } from "./appAuthSettings";

/** What MSAL needs to sign a client assertion (PS256 with the x5t#S256 header). */
export interface ClientCertificate {
  /** Hex SHA-256 of the certificate's DER encoding. */
  thumbprintSha256: string;
  privateKey: string;
  /** The certificate's PEM, sent as x5c so subject-name/issuer registrations also work. */
  certificatePem: string;
  notAfter: Date;
}

export interface CertificateLoadOptions {
  keyVaultCredential?: TokenCredential;
  keyVaultClientOptions?: SecretClientOptions;
}

const CERTIFICATE_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const PRIVATE_KEY_BLOCK = /-----BEGIN (?:RSA )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA )?PRIVATE KEY-----/;
/** A PEM Key Vault stores for a certificate created with content type application/x-pem-file: key, then certificate. */
const PEM_CONTENT_TYPE = "application/x-pem-file";
const VAULT_ATTEMPT_TIMEOUT_MS = 30_000;

export class CertificateLoadError extends Error {
  override readonly name = "AuthConfigurationError";
}

/**
 * The first certificate and the private key of one PEM text. The key must belong to the certificate: a mismatch would
 * only surface later as Entra's "signature validation failed", far from its cause. `where` names the source in errors
 * and never includes the text.
 */
export function parseCertificatePem(pem: string, where: string): ClientCertificate {
  const certificateText = CERTIFICATE_BLOCK.exec(pem)?.[0];
  const keyText = PRIVATE_KEY_BLOCK.exec(pem)?.[0];
  if (!certificateText) throw new CertificateLoadError(`${where} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  if (!keyText) {
    throw new CertificateLoadError(`${where} holds no unencrypted PEM private key (-----BEGIN PRIVATE KEY-----): the app signs its assertion with it, so the PEM must contain the key as well as the certificate`);
  }
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificateText);
  } catch (error) {
    throw new CertificateLoadError(`${where} holds a certificate that cannot be read: ${(error as Error).message}`);
  }
  let privateKeyPem: string;
  try {
    const key = createPrivateKey(keyText);
    if (key.asymmetricKeyType !== "rsa") throw new Error(`the key is ${key.asymmetricKeyType}, and Entra accepts RSA keys only`);
    const ownPublic = createPublicKey(key).export({ type: "spki", format: "der" });
    if (!ownPublic.equals(certificate.publicKey.export({ type: "spki", format: "der" }))) throw new Error("the private key does not belong to the certificate");
    privateKeyPem = key.export({ type: "pkcs8", format: "pem" }).toString();
  } catch (error) {
    throw new CertificateLoadError(`${where}: ${(error as Error).message}`);
  }
  const notAfter = new Date(certificate.validTo);
  if (notAfter.getTime() <= Date.now()) {
    throw new CertificateLoadError(`${where} holds a certificate that expired on ${notAfter.toISOString()}: renew it and upload the new certificate to the app registration`);
  }
  return { thumbprintSha256: certificate.fingerprint256.replaceAll(":", "").toLowerCase(), privateKey: privateKeyPem, certificatePem: certificateText, notAfter };
}

async function readFromKeyVault(vaultUrl: string, name: string, options: CertificateLoadOptions): Promise<string> {
  // Loaded only here: the Key Vault and identity SDKs (~6 MB) are not needed by the other credentials.
  const { SecretClient } = require("@azure/keyvault-secrets") as typeof import("@azure/keyvault-secrets");
  const { DefaultAzureCredential } = require("@azure/identity") as typeof import("@azure/identity");
  const client = new SecretClient(vaultUrl, options.keyVaultCredential ?? new DefaultAzureCredential(), {
    ...options.keyVaultClientOptions,
    httpClient: boundedHttpClient(options.keyVaultClientOptions?.httpClient ?? createDefaultHttpClient(), VAULT_ATTEMPT_TIMEOUT_MS),
  });
  let secret;
  try {
    // Key Vault serves a certificate's private key only as the secret of the same name.
    secret = await client.getSecret(name);
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    const hint =
      status === 404 ? "no certificate of that name exists in the vault (check CLIENT_CERTIFICATE_NAME)"
      : status === 403 ? "the app's identity may not read it: give it the Key Vault Secrets User role on the certificate's secret"
      : "";
    throw new CertificateLoadError(`Could not read certificate "${name}" from ${vaultUrl}: ${(error as Error).message}${hint ? ` (${hint})` : ""}`);
  }
  if (secret.properties.contentType !== undefined && secret.properties.contentType !== PEM_CONTENT_TYPE) {
    throw new CertificateLoadError(
      `Certificate "${name}" in ${vaultUrl} is stored as ${secret.properties.contentType}; the app reads PEM only: create the certificate with the policy's contentType set to ${PEM_CONTENT_TYPE}`,
    );
  }
  return secret.value ?? "";
}

export async function loadClientCertificate(source: CertificateSource, options: CertificateLoadOptions = {}): Promise<ClientCertificate> {
  if (source.kind === "file") {
    let text: string;
    try {
      text = await readFile(source.filePath, "utf8");
    } catch (error) {
      throw new CertificateLoadError(`CLIENT_CERTIFICATE_FILE "${source.filePath}" cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    return parseCertificatePem(text, `CLIENT_CERTIFICATE_FILE "${source.filePath}"`);
  }
  const text = await readFromKeyVault(source.vaultUrl, source.secretName, options);
  return parseCertificatePem(text, `Key Vault certificate "${source.secretName}"`);
}
