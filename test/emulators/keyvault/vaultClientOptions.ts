import { createDefaultHttpClient, HttpClient, PipelineRequest } from "@azure/core-rest-pipeline";
import type { SecretClientOptions } from "@azure/keyvault-secrets";
import type { KeyVaultEmulator } from "./keyVaultEmulator";

/**
 * Test wiring for the real SecretClient: it keeps the production-shaped vault URL (so the challenge policy's
 * resource verification stays on) and only the transport is pointed at the emulator. The original URL is put back
 * after each send, because the challenge policy reads it again.
 */
export function emulatorHttpClient(emulator: KeyVaultEmulator): HttpClient {
  const inner = createDefaultHttpClient();
  const vault = new URL(emulator.vaultUrl);
  return {
    async sendRequest(request: PipelineRequest) {
      const original = request.url;
      const target = new URL(original);
      if (target.host !== vault.host) throw new Error(`test vault client refused a request to ${target.host}`);
      const local = new URL(emulator.origin);
      target.protocol = local.protocol;
      target.host = local.host;
      request.url = target.toString();
      try {
        return await inner.sendRequest(request);
      } finally {
        request.url = original;
      }
    },
  };
}

export function emulatorSecretClientOptions(emulator: KeyVaultEmulator): SecretClientOptions {
  return { httpClient: emulatorHttpClient(emulator) };
}
