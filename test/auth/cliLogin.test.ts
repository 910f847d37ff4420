import assert from "node:assert/strict";
import { ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe, test } from "node:test";
import { answerConsent } from "../emulators/identity/consentClient";
import { OWNER, SignInWorld, startSignInWorld } from "./support/signInWorld";

/** As `npm run login` starts it: the launcher and the bundled command. */
const LOGIN_COMMAND = join(__dirname, "..", "..", "functions", "cli", "launch.js");

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

interface RunningLogin {
  child: ChildProcessWithoutNullStreams;
  signInUrl: Promise<string>;
  exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function startLogin(args: string[], env: Record<string, string | undefined>): RunningLogin {
  const child = spawn(process.execPath, [LOGIN_COMMAND, "login", ...args], { env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, ...env } });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  const signInUrl = new Promise<string>((resolve, reject) => {
    lines.on("line", (line) => {
      stdout += `${line}\n`;
      if (line.startsWith("https://")) resolve(line);
    });
    child.on("exit", () => reject(new Error(`login exited before printing a URL: ${stderr}`)));
  });
  signInUrl.catch(() => undefined);
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return { child, signInUrl, exit };
}

describe("npm run login (compiled loginCommand) against the identity emulator", () => {
  let world: SignInWorld;
  let port: number;
  before(async () => {
    port = await freePort();
    world = await startSignInWorld({ redirectUris: [`http://localhost:${port}/`] });
  });
  after(() => world.identity.close());

  test("prints the sign-in URL alone on a line, receives the loopback redirect, stores the cache and prints the account", async () => {
    const login = startLogin(["--port", String(port)], world.settings({ REDIRECT_URI: undefined }));
    const url = new URL(await login.signInUrl);
    assert.equal(url.origin, world.identity.origin);
    assert.equal(url.searchParams.get("redirect_uri"), `http://localhost:${port}/`);
    const redirect = await answerConsent(url.toString(), "accept");
    assert.equal(redirect.origin, `http://localhost:${port}`);
    const page = await fetch(redirect);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Linked as Olivia Owner/);
    const result = await login.exit;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Linked OneDrive account: owner@outlook\.example \(Olivia Owner\)$/m);
    assert.equal(statSync(world.tokenCacheFile).mode & 0o777, 0o600);
    assert.match(readFileSync(world.tokenCacheFile, "utf8"), new RegExp(OWNER.oid));
    for (const secret of world.identity.issuedSecrets()) assert.ok(!`${result.stdout}${result.stderr}`.includes(secret));
  });

  test("a denied consent exits non-zero with a clear message and stores nothing", async () => {
    const cacheFile = join(world.directory, "denied.json");
    const login = startLogin(["--port", String(port)], world.settings({ REDIRECT_URI: undefined, TOKEN_CACHE_FILE: cacheFile }));
    const redirect = await answerConsent(await login.signInUrl, "deny");
    assert.equal((await fetch(redirect)).status, 403);
    const result = await login.exit;
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Sign-in failed: Consent was declined; nothing was stored\./);
    assert.equal(existsSync(cacheFile), false);
  });

  test("requests without this command's state are ignored, and the genuine redirect still links", async () => {
    const cacheFile = join(world.directory, "state-first.json");
    const login = startLogin(["--port", String(port)], world.settings({ REDIRECT_URI: undefined, TOKEN_CACHE_FILE: cacheFile }));
    const url = new URL(await login.signInUrl);
    const loopback = `http://localhost:${port}/`;
    for (const query of ["?error=access_denied&error_description=declined", "?error=access_denied&state=not-this-command", "?code=forged-code&state=not-this-command", "?code=forged-code"]) {
      const ignored = await fetch(`${loopback}${query}`);
      assert.equal(ignored.status, 404, query);
      assert.match(await ignored.text(), /Not the sign-in redirect/);
    }
    assert.equal(login.child.exitCode, null, "the command is still waiting");
    const page = await fetch(await answerConsent(url.toString(), "accept"));
    assert.equal(page.status, 200);
    const result = await login.exit;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^Linked OneDrive account: owner@outlook\.example/m);
    assert.match(readFileSync(cacheFile, "utf8"), new RegExp(OWNER.oid));
  });

  test("bad arguments and missing settings exit 2 with what to fix", async () => {
    const badPort = await startLogin(["--port", "99999"], world.settings()).exit;
    assert.equal(badPort.code, 2);
    assert.match(badPort.stderr, /--port needs a whole number from 1 to 65535/);
    const noClient = await startLogin(["--port", String(port)], world.settings({ CLIENT_ID: undefined })).exit;
    assert.equal(noClient.code, 2);
    assert.match(noClient.stderr, /CLIENT_ID is required/);
  });

  test("under AUTH_MODE=app there is nothing to link: it says so and asks for no secret or browser", async () => {
    const appOnly = await startLogin(["--port", String(port)], world.settings({ AUTH_MODE: "app", CLIENT_SECRET: undefined })).exit;
    assert.equal(appOnly.code, 0, appOnly.stderr);
    assert.match(appOnly.stdout, /AUTH_MODE=app: the app runs without sign-in/);
    assert.doesNotMatch(appOnly.stdout + appOnly.stderr, /CLIENT_SECRET|https:\/\//);
  });
});
