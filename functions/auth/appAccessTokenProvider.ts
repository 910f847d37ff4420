import { AuthError, ConfidentialClientApplication, LogLevel, ManagedIdentityApplication, type NodeAuthOptions } from "@azure/msal-node";
import type { AccessTokenProvider } from "../onedrive/accessToken";
import { callContext } from "../http/callContext";
import { graphAppScope, TOKEN_EXCHANGE_AUDIENCE, type AppAuthSettings } from "./appAuthSettings";
import { AppAuthConfigurationError, appTokenFailure } from "./appAuthErrors";
import { BoundedNetworkClient } from "./boundedNetworkClient";
import { loadClientCertificate, type CertificateLoadOptions } from "./clientCertificate";

/** One token request (or one managed-identity request) is small; a minute without an answer is a dead endpoint. */
const IDENTITY_REQUEST_TIMEOUT_MS = 30_000;

export interface AppAccessTokenProviderOptions extends CertificateLoadOptions {
  requestTimeoutMs?: number;
  /** Receives MSAL warnings and errors (PII logging stays off). */
  log?: (message: string) => void;
}

/**
 * Outside App Service (no IDENTITY_ENDPOINT) there is usually no managed identity at all, which only a setting fixes;
 * with the endpoint present a failure may be passing (the endpoint restarting), so the next run tries again.
 */
function managedIdentityFailure(error: unknown): Error {
  const detail = error instanceof AuthError ? `${error.errorCode}: ${error.errorMessage.split(/\r?\n/)[0]}` : (error as Error).message;
  if (!process.env.IDENTITY_ENDPOINT) {
    return new AppAuthConfigurationError(
      `APP_CREDENTIAL is managed-identity, but this host offers no managed identity (IDENTITY_ENDPOINT is not set; ${detail}). On a developer machine use APP_CREDENTIAL=certificate with CLIENT_CERTIFICATE_FILE.`,
    );
  }
  return new Error(`The function app's managed identity gave no token for ${TOKEN_EXCHANGE_AUDIENCE} (${detail}); check that the user-assigned identity AZURE_CLIENT_ID is assigned to the app. The next run retries.`);
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/**
 * Graph tokens for the app itself (client credentials, `{graph}/.default`), with one of three credentials:
 * - managed-identity: MSAL's ManagedIdentityApplication asks the function app's identity for a token for
 *   api://AzureADTokenExchange, and that token is the client assertion of the app registration (workload identity
 *   federation). MSAL both ways, rather than @azure/identity's ClientAssertionCredential + ManagedIdentityCredential:
 *   one library, one cache, one transport that carries the timeout and the invocation's AbortSignal; @azure/identity
 *   would bring its own older MSAL (5.6.0) underneath anyway.
 * - certificate: a PEM from Key Vault or a file; MSAL signs a PS256 assertion with x5t#S256.
 * - secret: the last resort.
 * MSAL keeps the app token in memory and asks again only within five minutes of its expiry; the managed identity's
 * token is cached the same way (for its own, longer lifetime).
 */
export class AppAccessTokenProvider implements AccessTokenProvider {
  private client?: Promise<ConfidentialClientApplication>;
  private readonly scope: string;
  private readonly network: BoundedNetworkClient;

  constructor(
    private readonly settings: AppAuthSettings,
    private readonly options: AppAccessTokenProviderOptions = {},
  ) {
    this.scope = graphAppScope(settings.graphEndpoint);
    this.network = new BoundedNetworkClient(options.requestTimeoutMs ?? IDENTITY_REQUEST_TIMEOUT_MS);
  }

  async getAccessToken(): Promise<string> {
    const signal = callContext().signal;
    let token: string;
    try {
      const client = await raceAbort(this.clientOnce(), signal);
      const result = await raceAbort(client.acquireTokenByClientCredential({ scopes: [this.scope] }), signal);
      if (!result?.accessToken) throw new Error("the identity platform answered without an access token");
      token = result.accessToken;
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw appTokenFailure(error, this.settings);
    }
    return token;
  }

  /** Built on first use (a certificate may have to be read from Key Vault); a failed build is tried again next time. */
  private clientOnce(): Promise<ConfidentialClientApplication> {
    this.client ??= this.createClient().catch((error: unknown) => {
      this.client = undefined;
      throw error;
    });
    return this.client;
  }

  private async createClient(): Promise<ConfidentialClientApplication> {
    const { settings } = this;
    const system = {
      networkClient: this.network,
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (level: LogLevel, message: string, containsPii: boolean) => {
          if (!containsPii && level <= LogLevel.Warning) this.options.log?.(message);
        },
      },
    };
    const auth: NodeAuthOptions = {
      clientId: settings.clientId,
      authority: settings.authority,
      // Trusting the configured host without instance discovery: no identity request goes anywhere else.
      knownAuthorities: [new URL(settings.authorityHost).host],
    };
    const credential = settings.credential;
    if (credential.kind === "secret") {
      auth.clientSecret = credential.clientSecret;
    } else if (credential.kind === "certificate") {
      const certificate = await loadClientCertificate(credential.source, this.options);
      auth.clientCertificate = { thumbprintSha256: certificate.thumbprintSha256, privateKey: certificate.privateKey, x5c: certificate.certificatePem };
    } else {
      const managedIdentity = new ManagedIdentityApplication({
        managedIdentityIdParams: credential.managedIdentityClientId ? { userAssignedClientId: credential.managedIdentityClientId } : undefined,
        system,
      });
      auth.clientAssertion = async () => {
        try {
          return (await managedIdentity.acquireToken({ resource: TOKEN_EXCHANGE_AUDIENCE })).accessToken;
        } catch (error) {
          throw managedIdentityFailure(error);
        }
      };
    }
    return new ConfidentialClientApplication({ auth, system });
  }

  toJSON(): string {
    return "AppAccessTokenProvider";
  }
}
