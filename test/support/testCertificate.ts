import { mkdirSync, readFileSync, existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generate } from "selfsigned";

/**
 * One self-signed localhost certificate shared by every HTTPS emulator (OneDrive, identity platform, Key Vault).
 * Node reads NODE_EXTRA_CA_CERTS only at process start, so the runner creates it before spawning test processes
 * and each process finds the same files through TEST_TLS_DIR.
 */
export interface TestCertificate {
  certPem: string;
  keyPem: string;
  certPath: string;
}

export const DEFAULT_TLS_DIR = join(__dirname, "..", "..", "..", "test-artifacts", "tls");

export async function ensureTestCertificate(directory = process.env.TEST_TLS_DIR ?? DEFAULT_TLS_DIR): Promise<TestCertificate> {
  const certPath = join(directory, "localhost-cert.pem");
  const keyPath = join(directory, "localhost-key.pem");
  if (!existsSync(certPath) || !existsSync(keyPath)) {
    mkdirSync(directory, { recursive: true });
    const generated = await generate([{ name: "commonName", value: "localhost" }], {
      keySize: 2048,
      algorithm: "sha256",
      notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
      extensions: [
        { name: "basicConstraints", cA: true },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true },
        { name: "extKeyUsage", serverAuth: true },
        { name: "subjectAltName", altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] },
      ],
    });
    writeFileSync(keyPath, generated.private, { mode: 0o600 });
    writeFileSync(certPath, generated.cert);
  }
  return { certPem: readFileSync(certPath, "utf8"), keyPem: readFileSync(keyPath, "utf8"), certPath };
}

/** Synchronous read for code that runs after the runner made the files. */
export function loadTestCertificate(directory = process.env.TEST_TLS_DIR ?? DEFAULT_TLS_DIR): TestCertificate {
  const certPath = join(directory, "localhost-cert.pem");
  return { certPem: readFileSync(certPath, "utf8"), keyPem: readFileSync(join(directory, "localhost-key.pem"), "utf8"), certPath };
}
