import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import { readAuthMode } from "../auth/appAuthSettings";
import { AuthSettings, loadAuthSettings } from "../auth/authSettings";
import { renderResultPage } from "../auth/resultPage";
import { beginSignIn, CallbackParameters, completeSignIn, SignInOutcome } from "../auth/signInFlow";
import { failurePage, linkedPage } from "../auth/signInPages";
import { createTokenCacheStore } from "../auth/tokenStoreFactory";
import { constantTimeEquals } from "../auth/transactionCookie";
import { SettingsError } from "../config/settings";
import { PROJECT_ROOT, staleBuildMessage } from "./buildFreshness";

/**
 * `npm run login -- --port P [--timeout SECONDS]`: links the OneDrive account from a terminal. Listens on the
 * loopback redirect URI http://localhost:P/ (register it on the app registration's Web platform), prints the
 * sign-in URL alone on one stdout line, waits for the browser to come back, stores the cache and prints the account.
 */
const DEFAULT_PORT = 53682;
const DEFAULT_TIMEOUT_SECONDS = 300;
const USAGE = "Usage: npm run login -- [--port 53682] [--timeout 300]";

interface LoginOptions {
  port: number;
  timeoutSeconds: number;
}

class UsageError extends Error {}

function parseArguments(argv: string[]): LoginOptions {
  const options: LoginOptions = { port: DEFAULT_PORT, timeoutSeconds: DEFAULT_TIMEOUT_SECONDS };
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index];
    const [flag, inlineValue] = argument.includes("=") ? argument.split("=", 2) : [argument, undefined];
    const value = () => inlineValue ?? argv[++index];
    if (flag === "--port") options.port = wholeNumber(flag, value(), 1, 65535);
    else if (flag === "--timeout") options.timeoutSeconds = wholeNumber(flag, value(), 1, 3600);
    else if (flag === "--help" || flag === "-h") throw new UsageError(USAGE);
    else throw new UsageError(`Unknown argument "${argument}". ${USAGE}`);
  }
  return options;
}

function wholeNumber(flag: string, text: string | undefined, min: number, max: number): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${flag} needs a whole number from ${min} to ${max}. ${USAGE}`);
  }
  return Number(text);
}

/** Both loopback families, because "localhost" in the browser may resolve to ::1 or to 127.0.0.1. */
async function listenOnLoopback(port: number, handler: (request: IncomingMessage, response: ServerResponse) => void): Promise<Server[]> {
  const servers: Server[] = [];
  for (const host of ["127.0.0.1", "::1"]) {
    const server = createServer(handler);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => resolve());
      });
      servers.push(server);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // A machine without IPv6 loopback still works through 127.0.0.1.
      if (host === "::1" && (code === "EADDRNOTAVAIL" || code === "EAFNOSUPPORT") && servers.length > 0) continue;
      for (const open of servers) open.close();
      throw new Error(
        code === "EADDRINUSE" ? `Port ${port} on ${host} is in use: pick another with --port (and register http://localhost:<port>/ as a redirect URI).` : `Could not listen on ${host}:${port}: ${(error as Error).message}`,
      );
    }
  }
  return servers;
}

async function runLogin(options: LoginOptions): Promise<SignInOutcome> {
  const redirectUri = `http://localhost:${options.port}/`;
  const settings: AuthSettings = loadAuthSettings(process.env);
  const store = createTokenCacheStore(settings);
  const { authorizeUrl, transaction } = await beginSignIn(settings, redirectUri);

  let settle: (outcome: SignInOutcome) => void = () => undefined;
  const finished = new Promise<SignInOutcome>((resolve) => (settle = resolve));
  let handled = false;
  const servers = await listenOnLoopback(options.port, (request, response) => {
    const url = new URL(request.url ?? "/", redirectUri);
    const state = url.searchParams.get("state");
    // Any local page can send the browser here; only the redirect that carries this command's state may end the wait.
    if (request.method !== "GET" || url.pathname !== "/" || handled || state === null || !constantTimeEquals(state, transaction.state)) {
      response.writeHead(404, { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" }).end("Not the sign-in redirect.\n");
      return;
    }
    handled = true;
    const callback: CallbackParameters = {
      code: url.searchParams.get("code") ?? undefined,
      state: url.searchParams.get("state") ?? undefined,
      error: url.searchParams.get("error") ?? undefined,
      errorDescription: url.searchParams.get("error_description") ?? undefined,
    };
    completeSignIn(settings, store, transaction, callback).then(
      (outcome) => {
        const page = outcome.ok ? linkedPage(outcome.username, outcome.name) : failurePage(outcome.kind, outcome.detail, outcome.linkedUsername);
        response.writeHead(page.status ?? 200, page.headers as Record<string, string>).end(page.body as string, () => settle(outcome));
      },
      (error: Error) => {
        const page = renderResultPage({ status: 500, outcome: "failure", title: "Sign-in failed", paragraphs: [error.message] });
        response.writeHead(500, page.headers as Record<string, string>).end(page.body as string, () => settle({ ok: false, kind: "storeFailed", detail: error.message }));
      },
    );
  });

  process.stderr.write(`Open this URL in a browser and sign in with the OneDrive account (waiting ${options.timeoutSeconds} s for ${redirectUri}):\n`);
  process.stdout.write(`${authorizeUrl}\n`);
  // The one timer here is the product's own deadline for a person to finish signing in, not test synchronisation.
  const timer = setTimeout(
    () => settle({ ok: false, kind: "identityError", detail: `no sign-in arrived at ${redirectUri} within ${options.timeoutSeconds} s; run the command again` }),
    options.timeoutSeconds * 1000,
  );
  try {
    return await finished;
  } finally {
    clearTimeout(timer);
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
  }
}

const FAILURE_MESSAGES: Record<string, string> = {
  denied: "Consent was declined; nothing was stored.",
  stateMismatch: "The redirect did not carry this command's state; nothing was stored.",
  missingCode: "The redirect carried no authorization code; nothing was stored.",
  codeRejected: "The identity platform refused the authorization code (already used or expired); nothing was stored.",
  idTokenRejected: "The identity token did not carry this command's nonce; nothing was stored.",
  otherTenant: "That account belongs to another tenant than TENANT; nothing was stored. Sign in with an account of the configured tenant.",
  notExpectedAccount: "That account is not EXPECTED_ACCOUNT; nothing was stored. Sign in with the configured account.",
  differentAccountLinked: "Another account is already linked; nothing was stored. Delete the token secret or file first to replace it.",
};

export async function runLoginCommand(argv: string[]): Promise<number> {
  let options: LoginOptions;
  try {
    options = parseArguments(argv);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const stale = staleBuildMessage(PROJECT_ROOT);
  if (stale) {
    process.stderr.write(`${stale}\n`);
    return 2;
  }
  try {
    if (readAuthMode(process.env) === "app") {
      // Nothing to link: the app gets its own tokens (AUTH_MODE=app), and asking for CLIENT_SECRET would mislead.
      process.stdout.write("AUTH_MODE=app: the app runs without sign-in, as itself; there is no account to link.\n");
      return 0;
    }
    const outcome = await runLogin(options);
    if (outcome.ok) {
      process.stdout.write(`Linked OneDrive account: ${outcome.username}${outcome.name ? ` (${outcome.name})` : ""}\n`);
      return 0;
    }
    const known = FAILURE_MESSAGES[outcome.kind];
    const accountKinds = outcome.kind === "notExpectedAccount" || outcome.kind === "differentAccountLinked" || outcome.kind === "otherTenant";
    const detail = accountKinds ? (outcome.detail ? `(signed in as ${outcome.detail})` : "") : (outcome.detail ?? "");
    process.stderr.write(`Sign-in failed: ${[known, detail].filter(Boolean).join(" ")}\n`);
    return 1;
  } catch (error) {
    process.stderr.write(`${error instanceof SettingsError ? error.message : `Sign-in failed: ${(error as Error).message}`}\n`);
    return error instanceof SettingsError ? 2 : 1;
  }
}

if (require.main === module) {
  void runLoginCommand(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

/** The entry the bundled command offers its launcher (launch.ts). */
export const runCommand = runLoginCommand;
