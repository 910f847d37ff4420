import assert from "node:assert/strict";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { HttpHandler } from "@azure/functions";
import { Browser, BrowserContext, chromium, Page } from "playwright-core";
import { createStatusPageHandler } from "../../functions/app/statusPageHandler";
import { createSweepTimer } from "../../functions/app/sweepTimer";
import type { LinkReport } from "../../functions/app/transferStatus";
import { failureRecordChanges } from "../../functions/storage/ledgerRow";
import { FunctionsHttpsAdapter, serveFunctions } from "../auth/support/functionsHttpsAdapter";
import { azuriteForSuite } from "../support/azurite";
import { createAppWorld, invocation, type AppWorld } from "./support/appHarness";

const ARTIFACTS = join(__dirname, "..", "..", "..", "test-artifacts");
const FUNCTION_KEY = "status-page-key-8c41e0";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const SESSION_SECRET = "secret-session-token-77aa";
const HOSTILE_BLOB = `<script>alert("blob")</script>'quoted'.txt`;
const HOSTILE_ERROR = `<img src=x onerror="alert('error')"> broke`;
const MIB = 1_048_576;
const RELINK: LinkReport = { linked: false, account: "owner@outlook.example", relinkNeeded: true, reason: "The grant was revoked (AADSTS50173). Open /api/auth/login to link again." };

interface AxNode {
  role?: { value?: string };
  name?: { value?: string };
  value?: { value?: unknown };
  properties?: Array<{ name: string; value: { value?: unknown } }>;
}

describe("the status page in a real browser, served by the real handler", () => {
  const suite = azuriteForSuite();
  let world: AppWorld;
  let app: FunctionsHttpsAdapter;
  let browser: Browser;

  before(async () => {
    world = await createAppWorld(suite.instance, {}, { quotaBytes: MIB });
    suite.closeAfter(world.fixture);
    const engine = world.fixture.engine();
    const ledger = engine.services.ledger;
    const now = Date.now();
    // Two files mid-upload: one a live worker holds (so it has a rate), one waiting for its next attempt.
    const uploadUrl = `${world.fixture.emulator.uploadOrigin}/up/${SESSION_SECRET}`;
    const held = await ledger.claim(
      "videos/big-recording.mp4",
      { blobEtag: "e1", status: "uploading", size: 200 * MIB, destinationPath: "videos/big-recording.mp4", confirmedBytes: 50 * MIB, fragments: 160, attempts: 1, uploadUrl, startedAt: new Date(now - 20_000).toISOString() },
      { owner: "worker-1", leaseMs: 600_000 },
    );
    assert.ok(held);
    await ledger.merge("paused.bin", { status: "uploading", size: 10 * MIB, confirmedBytes: 3 * MIB, destinationPath: "paused.bin", uploadUrl, blobEtag: "e2" });
    // Real failures through the engine: over quota (Graph's 507 with its request id), and a name OneDrive refuses.
    await world.fixture.putBlob("too-big.bin", Buffer.alloc(2 * MIB, 7));
    await world.fixture.putBlob(HOSTILE_BLOB, "hostile name");
    assert.equal((await engine.transferBlob("too-big.bin")).status, "failed");
    assert.equal((await engine.transferBlob(HOSTILE_BLOB)).status, "failed");
    await ledger.merge("flaky.txt", { status: "uploading", size: 10, destinationPath: "flaky.txt", ...failureRecordChanges(HOSTILE_ERROR, { lastErrorCause: "network", lastErrorCode: "ECONNRESET" }, now - 60_000) });
    await world.fixture.putBlob("done.txt", "finished");
    assert.equal((await engine.transferBlob("done.txt")).status, "uploaded");
    const timer = { isPastDue: false, schedule: { adjustForDST: false }, scheduleStatus: { last: "", next: "", lastUpdated: "" } };
    const sweep = createSweepTimer({ engineFor: (log) => world.fixture.engine({ log }), queue: world.queue });
    await sweep(timer, invocation(world.lines, {}, "sweep"));
    await sweep(timer, invocation(world.lines, {}, "sweep"));

    const dependencies = world.httpDependencies(async () => RELINK);
    const statusPage = createStatusPageHandler(dependencies);
    // The same page with a slipped-in inline script, to show the CSP is what stops it.
    const tampered: HttpHandler = async (request, context) => {
      const response = await statusPage(request, context);
      return { ...response, body: String(response.body).replace("<main id=\"status\">", `<main id="status"><script>document.title = "inline script ran"</script><p id="probe" onclick="document.title='handler ran'">probe</p>`) };
    };
    app = await serveFunctions(
      [
        { route: "status", authLevel: "function", handler: statusPage },
        { route: "fast/status", authLevel: "function", handler: createStatusPageHandler(dependencies, { refreshSeconds: 1 }) },
        { route: "tampered/status", authLevel: "function", handler: tampered },
      ],
      FUNCTION_KEY,
    );
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", headless: true, args: CHROMIUM_FLAGS });
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  async function open(path = "status", viewport = { width: 1100, height: 900 }): Promise<{ context: BrowserContext; page: Page; dialogs: string[]; console: string[]; html: string }> {
    const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport });
    const page = await context.newPage();
    const dialogs: string[] = [];
    const consoleLines: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on("console", (message) => consoleLines.push(message.text()));
    const response = await page.goto(`${app.origin}/api/${path}?code=${FUNCTION_KEY}`);
    assert.equal(response?.status(), 200);
    return { context, page, dialogs, console: consoleLines, html: (await response?.text()) ?? "" };
  }

  test("a person sees the relink state, counts, progress with rate and time left, failures with what to do, sweeps and queues", async () => {
    const { context, page } = await open();
    try {
      assert.equal(await page.textContent("h1"), `Transfers from ${world.fixture.settings.sourceContainer} to OneDrive`);
      const text = await page.innerText("main");
      assert.match(text, /Relink needed\. The link of owner@outlook\.example can no longer be used\. The grant was revoked \(AADSTS50173\)/);
      assert.match(text, /Login key/);
      const tiles = await page.$$eval(".tiles li", (items) => items.map((item) => (item as unknown as { innerText: string }).innerText.replace(/\s+/g, " ").trim()));
      assert.deepEqual(tiles, ["0 pending", "3 uploading", "1 done", "2 failed"]);
      assert.match(text, /Last 24 hours: 1 file done, 8 B\./);

      const rows = await page.$$eval("#inflight-heading ~ div tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => (td as unknown as { innerText: string }).innerText.trim())));
      assert.deepEqual(rows.map((row) => row[0]), ["flaky.txt", "paused.bin", "videos/big-recording.mp4"]);
      const big = rows[2];
      assert.equal(big[1], "50.0 MiB of 200.0 MiB (25%)");
      // 50 MiB between the attempt's start and its last write, about 20 s apart (the claim wrote it just now).
      const rate = /^([\d.]+) MiB\/s\n(\d+ min \d\d s|\d+ s) left$/.exec(big[2]);
      assert.ok(rate && Number(rate[1]) > 1 && Number(rate[1]) <= 2.6, big[2]);
      assert.equal(rows[1][2], "—\nwaiting for its next attempt");
      const bars = await page.$$eval("progress", (elements) => elements.map((bar) => [(bar as unknown as { value: number; max: number }).value, (bar as unknown as { value: number; max: number }).max]));
      assert.deepEqual(bars, [[0, 10], [3 * MIB, 10 * MIB], [50 * MIB, 200 * MIB]]);

      const failures = await page.$$eval(".failures li", (items) => items.map((item) => (item as unknown as { innerText: string }).innerText));
      const quota = failures.find((failure) => failure.startsWith("too-big.bin"));
      assert.ok(quota, failures.join("\n---\n"));
      assert.match(quota, /The OneDrive is full\. Free space in the OneDrive or raise its quota/);
      assert.match(quota, /Code quotaLimitReached · Request id [0-9a-f-]{36} · 1 attempt/);
      const renamed = failures.find((failure) => failure.startsWith(HOSTILE_BLOB));
      assert.match(renamed ?? "", /OneDrive does not allow this file name or path\. Rename the blob/);

      const queue = await page.innerText("#queue-heading + p");
      assert.match(queue, new RegExp(`Queue ${world.queue.name}: \\d+ messages? waiting\\. Poison queue ${world.queue.name}-poison: 0 messages\\.`));
      const sweeps = await page.$$eval("#sweeps-caption ~ tbody tr", (trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => (td as unknown as { innerText: string }).innerText.trim())));
      assert.equal(sweeps.length, 2);
      assert.deepEqual(sweeps.map((row) => row[1]), ["timer", "timer"]);

      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, "status-page.png"), fullPage: true });
      assert.ok(statSync(join(ARTIFACTS, "status-page.png")).size > 10_000);
    } finally {
      await context.close();
    }
  });

  test("on a phone the page fits the screen's width; only the tables scroll, inside their own boxes", async () => {
    const { context, page } = await open("status", { width: 390, height: 844 });
    try {
      const widths = (await page.evaluate("({ page: document.documentElement.scrollWidth, screen: window.innerWidth })")) as { page: number; screen: number };
      assert.ok(widths.page <= widths.screen, JSON.stringify(widths));
      assert.equal(await page.getAttribute('meta[name="viewport"]', "content"), "width=device-width, initial-scale=1");
      await page.screenshot({ path: join(ARTIFACTS, "status-page-phone.png"), fullPage: true });
    } finally {
      await context.close();
    }
  });

  test("accessibility: lang, one h1 and ordered headings, tables with captions and scoped headers, named progress bars with values", async () => {
    const { context, page } = await open();
    try {
      assert.equal(await page.getAttribute("html", "lang"), "en");
      const levels = await page.$$eval("h1, h2, h3, h4, h5, h6", (headings) => headings.map((heading) => Number(heading.tagName[1])));
      assert.equal(levels.filter((level) => level === 1).length, 1);
      assert.equal(levels[0], 1);
      for (let index = 1; index < levels.length; index++) assert.ok(levels[index] <= levels[index - 1] + 1, `heading levels ${levels.join(",")} skip a level`);
      const tables = await page.$$eval("table", (elements) => elements.map((table) => ({
        caption: table.querySelector("caption")?.textContent?.trim() ?? "",
        headers: [...table.querySelectorAll("th")].map((th) => th.getAttribute("scope")),
      })));
      assert.equal(tables.length, 2);
      for (const table of tables) {
        assert.notEqual(table.caption, "");
        assert.ok(table.headers.length > 0 && table.headers.every((scope) => scope === "col"), JSON.stringify(table));
      }
      // What Chromium's accessibility tree itself exposes to a screen reader for each bar.
      const cdp = await context.newCDPSession(page);
      const { nodes } = (await cdp.send("Accessibility.getFullAXTree")) as { nodes: AxNode[] };
      const bars = nodes.filter((node) => node.role?.value === "progressbar").map((node) => {
        const property = (name: string) => node.properties?.find((entry) => entry.name === name)?.value.value;
        return { name: node.name?.value, now: node.value?.value ?? property("valuenow"), max: property("valuemax"), description: (node as { description?: { value?: string } }).description?.value };
      });
      const big = bars.find((bar) => bar.name === "videos/big-recording.mp4");
      assert.ok(big, JSON.stringify(bars));
      assert.equal(Number(big.now), 50 * MIB);
      assert.equal(Number(big.max), 200 * MIB);
      assert.equal(big.description, "50.0 MiB of 200.0 MiB (25%)");
      assert.equal(bars.length, 3);
    } finally {
      await context.close();
    }
  });

  test("hostile names and messages show as text; nothing leaks: no upload URL, no key, no markup from values", async () => {
    const { context, page, dialogs, html } = await open();
    try {
      const text = await page.innerText("main");
      assert.ok(text.includes(HOSTILE_BLOB), "the blob name reads exactly as it is");
      assert.ok(text.includes(HOSTILE_ERROR), "the message reads exactly as it is");
      assert.equal(await page.locator("main img").count(), 0);
      assert.equal(await page.locator("main script").count(), 0);
      assert.deepEqual(dialogs, []);
      assert.ok(html.includes("&lt;script&gt;alert(&quot;blob&quot;)&lt;/script&gt;&#39;quoted&#39;.txt"));
      for (const secret of [SESSION_SECRET, FUNCTION_KEY, world.fixture.emulator.accessToken]) assert.ok(!html.includes(secret), `the page holds ${secret}`);
    } finally {
      await context.close();
    }
  });

  test("the headers: a nonce-only CSP that blocks inline script and handlers, nosniff, no-store, no framing, no referrer", async () => {
    const { context, page, console: consoleLines } = await open("tampered/status");
    try {
      const headers = (await page.request.get(`${app.origin}/api/status?code=${FUNCTION_KEY}`)).headers();
      const csp = headers["content-security-policy"];
      const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
      assert.ok(nonce, csp);
      assert.equal(csp, `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`);
      assert.equal(headers["x-content-type-options"], "nosniff");
      assert.equal(headers["cache-control"], "no-store");
      assert.equal(headers["referrer-policy"], "no-referrer");
      assert.equal(headers["x-frame-options"], "DENY");
      const second = (await page.request.get(`${app.origin}/api/status?code=${FUNCTION_KEY}`)).headers()["content-security-policy"];
      assert.notEqual(second, csp, "a fresh nonce for every response");

      await page.click("#probe");
      assert.equal(await page.title(), "Transfer status - onedrive-connector", "neither the inline script nor the inline handler ran");
      assert.ok(consoleLines.some((line) => /inline script .*Content Security Policy.*blocked/.test(line)), consoleLines.join("\n"));
      assert.ok(consoleLines.some((line) => /inline event handler .*Content Security Policy.*blocked/.test(line)), consoleLines.join("\n"));
      assert.equal(await page.isVisible("#pause"), true, "the page's own script, with the nonce, did run");
    } finally {
      await context.close();
    }
  });

  test("the relink button goes to the login route with the key typed into it, never the page's own", async () => {
    const { context, page } = await open();
    try {
      await page.fill("#login-key", "typed-login-key");
      const [request] = await Promise.all([page.waitForRequest((candidate) => new URL(candidate.url()).pathname === "/api/auth/login"), page.click("button[type=submit]")]);
      const url = new URL(request.url());
      assert.equal(url.origin, app.origin);
      assert.deepEqual([...url.searchParams], [["code", "typed-login-key"]]);
    } finally {
      await context.close();
    }
  });

  test("the page refreshes in place from the same address, and a person can pause it", async () => {
    const { context, page } = await open("fast/status");
    try {
      let navigations = 0;
      page.on("framenavigated", () => (navigations += 1));
      const ledger = world.fixture.engine().services.ledger;
      await ledger.merge("paused.bin", { confirmedBytes: 6 * MIB });
      await page.getByText("6.0 MiB of 10.0 MiB (60%)", { exact: true }).waitFor();
      assert.equal(navigations, 0, "updated in place, not reloaded");
      await page.click("#pause");
      assert.equal(await page.getAttribute("#pause", "aria-pressed"), "true");
      assert.equal(await page.locator("main").count(), 1);
    } finally {
      await context.close();
    }
  });
});
