import { ConfidentialClientApplication, ICachePlugin, LogLevel } from "@azure/msal-node";
import { AuthSettings } from "./authSettings";

export interface MsalClientOptions {
  /** Omitted for the staging client that redeems a code before the account is checked. */
  cachePlugin?: ICachePlugin;
  /** Receives MSAL warnings and errors; MSAL's PII logging stays off so no token or user data reaches it. */
  log?: (message: string) => void;
}

/**
 * One place that turns settings into an MSAL client. Listing the authority host in knownAuthorities makes MSAL trust
 * it without instance discovery, so with AUTHORITY_HOST set no identity request goes to any other host.
 */
export function createConfidentialClient(settings: AuthSettings, options: MsalClientOptions = {}): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: {
      clientId: settings.clientId,
      clientSecret: settings.clientSecret,
      authority: settings.authority,
      knownAuthorities: [new URL(settings.authorityHost).host],
    },
    cache: options.cachePlugin ? { cachePlugin: options.cachePlugin } : undefined,
    system: {
      loggerOptions: {
        piiLoggingEnabled: false,
        logLevel: LogLevel.Warning,
        loggerCallback: (level, message, containsPii) => {
          if (!containsPii && level <= LogLevel.Warning) options.log?.(message);
        },
      },
    },
  });
}
