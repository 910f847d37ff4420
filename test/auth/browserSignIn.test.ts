import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Browser, chromium } from "playwright-core";
import { callbackHandler } from "../../functions/auth/callbackHandler";
import { loginHandler } from "../../functions/auth/loginHandler";
import { CLIENT_SECRET, OWNER, SignInWorld, startSignInWorld } from "./support/signInWorld";
import { FunctionsHttpsAdapter, serveFunctions } from "./support/functionsHttpsAdapter";

const ARTIFACTS = join(__dirname, "..", "..", "..", "test-artifacts");
const FUNCTION_KEY = "test-function-key-5f2d9a";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

describe("sign-in in a real browser against the real handlers", () => {
  let app: FunctionsHttpsAdapter;
  let world: SignInWorld;
  let browser: Browser;
  const savedEnv = { ...process.env };

  before(async () => {
    app = await serveFunctions(
      [
        { route: "auth/login", authLevel: "function", handler: loginHandler },
        { route: "auth/callback", authLevel: "anonymous", handler: callbackHandler },
      ],
      FUNCTION_KEY,
    );
    world = await startSignInWorld({ redirectUris: [`${app.origin}/api/auth/callback`] });
    Object.assign(process.env, world.settings());
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_FLAGS });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await world?.identity.close();
    process.env = savedEnv;
  });

  test("without the function key the login endpoint refuses before any handler runs", async () => {
    const response = await fetch(`${app.origin}/api/auth/login`, { redirect: "manual" });
    assert.equal(response.status, 401);
    assert.equal(world.identity.requests.length, 0);
  });

  test("login → consent page → Accept → callback page says whom it linked; the screenshot is kept", async () => {
    // The emulators use the test certificate, which this browser profile has no reason to trust.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      await page.goto(`${app.origin}/api/auth/login?code=${FUNCTION_KEY}`);
      assert.equal(new URL(page.url()).origin, world.identity.origin);
      assert.equal(await page.textContent("#signed-in-user"), OWNER.username);
      await Promise.all([page.waitForURL(`${app.origin}/api/auth/callback?**`), page.click("#accept")]);
      const heading = await page.textContent("h1");
      const status = await page.getAttribute("main", "role");
      assert.equal(heading, "OneDrive linked");
      assert.equal(status, "status");
      assert.match((await page.textContent("main")) ?? "", /Linked as Olivia Owner \(owner@outlook\.example\)\./);
      assert.deepEqual(
        (await context.cookies()).filter((cookie) => cookie.name === "__Host-onedrive-signin"),
        [],
        "the callback cleared the transaction cookie",
      );
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "signin-linked.png"), fullPage: true });
      assert.ok(statSync(join(ARTIFACTS, "signin-linked.png")).size > 1000);
      assert.equal(statSync(world.tokenCacheFile).mode & 0o777, 0o600);
      assert.match(readFileSync(world.tokenCacheFile, "utf8"), /owner@outlook\.example/);
    } finally {
      await context.close();
    }
  });

  test("Deny on the consent page ends on a 'Consent declined' page and stores nothing", async () => {
    rmSync(world.tokenCacheFile, { force: true });
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const page = await context.newPage();
      await page.goto(`${app.origin}/api/auth/login?code=${FUNCTION_KEY}`);
      const [response] = await Promise.all([page.waitForResponse((candidate) => candidate.url().startsWith(`${app.origin}/api/auth/callback`)), page.click("#deny")]);
      assert.equal(response.status(), 403);
      await page.waitForLoadState();
      assert.equal(await page.textContent("h1"), "Consent declined");
      assert.equal(existsSync(world.tokenCacheFile), false);
    } finally {
      await context.close();
    }
  });

  test("nothing the handlers logged contains a token, a code or the client secret", () => {
    const logged = app.logLines.join("\n");
    assert.match(logged, /OneDrive account linked: owner@outlook\.example/);
    for (const secret of [...world.identity.issuedSecrets(), CLIENT_SECRET]) assert.ok(!logged.includes(secret));
  });
});
