import { escapeHtml } from "../auth/resultPage";
import type { SweepRunRecord } from "../storage/ledger";
import { displayText, formatAgo, formatBytes, formatDuration, formatRate, formatTime, plural } from "./statusFormat";
import type { FailureView, InFlightView, TransferStatusReport } from "./transferStatus";

export interface StatusPageOptions {
  /** The nonce the response's CSP names: only the page's own style and script carry it. */
  nonce: string;
  /** Where the relink form sends the browser (the login route, on this host). */
  loginPath: string;
  refreshSeconds: number;
}

/** Every value goes through here: ledger text may hold markup, quotes or control characters. */
function text(value: string | number): string {
  return escapeHtml(displayText(String(value)));
}

function time(iso: string | undefined, now: number): string {
  if (!iso || !Number.isFinite(Date.parse(iso))) return "unknown";
  return `<time datetime="${text(iso)}" title="${text(formatTime(iso))}">${text(formatAgo(iso, now))}</time>`;
}

/* The page's whole style: tables scroll sideways inside their own box on a narrow screen, failures are cards. */
const STYLE = `
:root{color-scheme:light dark;--ok:#0b6a0b;--bad:#a4262c;--warn:#8a5300;--muted:#5c5c5c;--line:#d0d0d0;--tile:#f3f3f3}
@media (prefers-color-scheme:dark){:root{--ok:#6ccb5f;--bad:#ff99a4;--warn:#fce100;--muted:#b0b0b0;--line:#4a4a4a;--tile:#2b2b2b}}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;line-height:1.45;margin:0 auto;max-width:64rem;padding:1rem}
h1{font-size:1.4rem;margin:.2rem 0}h2{font-size:1.15rem;margin:1.6rem 0 .5rem;border-bottom:1px solid var(--line)}h3{font-size:1rem;margin:0 0 .3rem;overflow-wrap:anywhere}
.muted{color:var(--muted)}.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(7.5rem,1fr));gap:.5rem;list-style:none;padding:0;margin:0}
.tiles li{background:var(--tile);border-radius:.4rem;padding:.5rem .7rem}.tiles .n{display:block;font-size:1.5rem;font-weight:600}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:600;padding:.3rem 0}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
td.file{overflow-wrap:anywhere;min-width:8rem}td.num,th.num{text-align:right;white-space:nowrap}
progress{width:100%;min-width:5rem;height:1rem}.rate{font-variant-numeric:tabular-nums;white-space:nowrap}
@media (max-width:30rem){body{padding:.6rem}th,td{padding:.3rem}}
.failures{list-style:none;padding:0;margin:0;display:grid;gap:.6rem}
.failures li{border:1px solid var(--line);border-left:.3rem solid var(--bad);border-radius:.4rem;padding:.6rem .8rem}
.failures p{margin:.2rem 0;overflow-wrap:anywhere}.failures .ids{font-size:.85rem}
code{font-family:ui-monospace,Consolas,monospace;overflow-wrap:anywhere}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end;margin:.5rem 0}
form div{flex:1 1 14rem}label{display:block;font-size:.9rem}input{font:inherit;padding:.3rem;width:100%}
button{font:inherit;padding:.35rem .8rem}
.bar{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:center}
`;

/* Refreshes the report in place from the same address (the key the page was opened with comes along, no other):
   no refresh while the person types a key or has paused, and a failed refresh says so instead of going stale. */
function refreshScript(seconds: number): string {
  return `(() => {
  const seconds = ${Math.max(1, Math.floor(seconds))};
  const pause = document.getElementById("pause");
  const note = document.getElementById("refresh-note");
  let paused = false;
  pause.hidden = false;
  pause.addEventListener("click", () => {
    paused = !paused;
    pause.setAttribute("aria-pressed", String(paused));
    pause.textContent = paused ? "Resume updates" : "Pause updates";
  });
  const busy = () => paused || [...document.querySelectorAll("input")].some((input) => input.value !== "" || input === document.activeElement);
  async function refresh() {
    if (!busy()) {
      try {
        const response = await fetch(location.href, { cache: "no-store", credentials: "same-origin", headers: { Accept: "text/html" } });
        if (!response.ok) throw new Error("the app answered " + response.status);
        const next = new DOMParser().parseFromString(await response.text(), "text/html");
        for (const id of ["status", "updated"]) {
          const fresh = next.getElementById(id);
          const current = document.getElementById(id);
          if (fresh && current) current.replaceChildren(...[...fresh.childNodes].map((node) => document.adoptNode(node)));
        }
        note.textContent = "";
      } catch (error) {
        note.textContent = "Could not refresh (" + error.message + "); trying again in " + seconds + " s.";
      }
    }
    setTimeout(refresh, seconds * 1000);
  }
  setTimeout(refresh, seconds * 1000);
})();`;
}

function linkSection(report: TransferStatusReport, options: StatusPageOptions): string {
  const lines: string[] = [];
  const destination = report.destination ? `<p>Destination: <strong>${text(report.destination.display)}</strong></p>` : "";
  if (report.identity?.mode === "app") {
    lines.push(`<p class="ok"><strong>Uploads as ${text(report.identity.display)}</strong> (app permission: no account to link).</p>`, destination);
    return section("link", "OneDrive connection", lines.join("\n"));
  }
  const link = report.link;
  if ("error" in link) {
    lines.push(`<p class="warn"><strong>Link state unknown.</strong> ${text(link.error)}</p>`);
  } else if (link.linked) {
    const who = report.identity?.display ?? link.account ?? "the configured account";
    lines.push(`<p class="ok"><strong>Linked as ${text(who)}.</strong>${link.reason ? ` <span class="muted">${text(link.reason)}</span>` : ""}</p>`);
  } else if (link.relinkNeeded) {
    lines.push(
      `<p class="bad"><strong>Relink needed.</strong> ${link.account ? `The link of ${text(link.account)} can no longer be used. ` : ""}${text(link.reason ?? "No OneDrive account is linked.")}</p>`,
      // The login route takes its own key (a function key of authLogin): this page forwards none it was given.
      `<form method="get" action="${text(options.loginPath)}">
  <div><label for="login-key">Login key (the <code>login-link</code> key of <code>authLogin</code>)</label>
  <input id="login-key" name="code" type="password" autocomplete="off" required></div>
  <button type="submit">Relink OneDrive</button>
</form>`,
      `<p class="muted">Or run <code>npm run login</code> where the app's settings are. Transfers wait until the account is linked again.</p>`,
    );
  } else {
    lines.push(`<p class="warn"><strong>Not linked.</strong></p>`);
  }
  lines.push(destination);
  return section("link", "OneDrive link", lines.filter((line) => line !== "").join("\n"));
}

function section(id: string, heading: string, body: string): string {
  return `<section aria-labelledby="${id}-heading">
<h2 id="${id}-heading">${heading}</h2>
${body}
</section>`;
}

function summarySection(report: TransferStatusReport): string {
  const { counts, last24Hours } = report;
  const tile = (count: number, label: string, tone = "") => `<li${tone ? ` class="${tone}"` : ""}><span class="n">${text(count)}</span> ${label}</li>`;
  return section(
    "summary",
    "Files",
    `<ul class="tiles">
${tile(counts.pending, "pending")}
${tile(counts.uploading, "uploading")}
${tile(counts.done, "done", "ok")}
${tile(counts.failed, "failed", counts.failed > 0 ? "bad" : "")}
</ul>
<p>Last 24 hours: <strong>${text(plural(last24Hours.files, "file"))}</strong> done, <strong>${text(formatBytes(last24Hours.bytes))}</strong>.</p>`,
  );
}

function inFlightRow(entry: InFlightView, index: number): string {
  const amount = `${formatBytes(entry.confirmedBytes)} of ${formatBytes(entry.size)} (${entry.percent}%)`;
  const rate = entry.bytesPerSecond !== undefined ? formatRate(entry.bytesPerSecond) : entry.state === "uploading" ? "measuring" : "—";
  const left =
    entry.state === "throttled" ? `throttled until ${formatTime(entry.throttledUntil)}`
    : entry.state === "waiting" ? "waiting for its next attempt"
    : entry.secondsLeft !== undefined ? `${formatDuration(entry.secondsLeft)} left` : "time left unknown";
  const fileId = `file-${index}`;
  return `<tr>
<td class="file" id="${fileId}">${text(entry.blob)}</td>
<td><progress max="${Math.max(entry.size, 1)}" value="${Math.min(entry.confirmedBytes, Math.max(entry.size, 1))}" aria-labelledby="${fileId}" aria-describedby="${fileId}-amount"></progress>
<div id="${fileId}-amount">${text(amount)}</div></td>
<td><div class="rate">${text(rate)}</div><div>${text(left)}</div></td>
</tr>`;
}

function inFlightSection(report: TransferStatusReport): string {
  if (report.inFlight.length === 0) return section("inflight", "In flight", `<p>Nothing is uploading.</p>`);
  return section(
    "inflight",
    "In flight",
    `<div class="scroll" role="region" aria-labelledby="inflight-caption" tabindex="0"><table>
<caption id="inflight-caption">${text(plural(report.inFlight.length, "file"))} mid-upload</caption>
<thead><tr><th scope="col">File</th><th scope="col">Progress</th><th scope="col">Rate and time left</th></tr></thead>
<tbody>
${report.inFlight.map(inFlightRow).join("\n")}
</tbody>
</table></div>`,
  );
}

function failureItem(failure: FailureView, now: number): string {
  const ids = [
    failure.code ? `Code <code>${text(failure.code)}</code>` : "",
    failure.requestId ? `Request id <code>${text(failure.requestId)}</code>` : "",
    `${text(plural(failure.attempts, "attempt"))}`,
    failure.at ? `last ${time(failure.at, now)}` : "",
  ].filter((part) => part !== "");
  return `<li>
<h3>${text(failure.blob)}</h3>
<p><strong>${text(failure.summary)}.</strong> ${text(failure.action)}</p>
<p class="muted">${text(failure.error)}</p>
<p class="ids">${ids.join(" · ")}</p>
</li>`;
}

function failuresSection(report: TransferStatusReport, now: number): string {
  if (report.lastFailures.length === 0) return section("failures", "Last failures", `<p>No failures.</p>`);
  return section("failures", "Last failures", `<ol class="failures">\n${report.lastFailures.map((failure) => failureItem(failure, now)).join("\n")}\n</ol>`);
}

function sweepRow(run: SweepRunRecord, now: number): string {
  const took = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
  return `<tr><td>${time(run.startedAt, now)}</td><td>${text(run.trigger)}</td><td class="num">${text(run.listed)}</td><td class="num">${text(run.queued)}</td><td class="num">${Number.isFinite(took) ? text(formatDuration(took)) : "unknown"}</td></tr>`;
}

function queueSection(report: TransferStatusReport, now: number): string {
  const { queue } = report;
  const parts: string[] = [];
  if (queue.name) {
    parts.push(`<p>Queue <code>${text(queue.name)}</code>: ${queue.approximateMessages === undefined ? "depth unknown" : `<strong>${text(plural(queue.approximateMessages, "message"))}</strong> waiting`}.`);
    if (queue.poisonQueue) {
      const poison = queue.poisonMessages;
      parts.push(` Poison queue <code>${text(queue.poisonQueue)}</code>: ${poison === undefined ? "unknown" : `<strong class="${poison > 0 ? "bad" : ""}">${text(plural(poison, "message"))}</strong>`}.</p>`);
    } else parts.push("</p>");
  }
  if (report.recentSweeps.length === 0) {
    parts.push(`<p>No sweep has run yet.</p>`);
  } else {
    parts.push(`<div class="scroll" role="region" aria-labelledby="sweeps-caption" tabindex="0"><table>
<caption id="sweeps-caption">Last ${text(plural(report.recentSweeps.length, "sweep"))}</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Trigger</th><th scope="col" class="num">Listed</th><th scope="col" class="num">Queued</th><th scope="col" class="num">Took</th></tr></thead>
<tbody>
${report.recentSweeps.map((run) => sweepRow(run, now)).join("\n")}
</tbody>
</table></div>`);
  }
  return section("queue", "Queue and sweeps", parts.join(""));
}

/** The status page: one self-contained document, its style and script admitted by the nonce alone. */
export function renderStatusPage(report: TransferStatusReport, options: StatusPageOptions): string {
  const now = Date.parse(report.generatedAt);
  const nonce = escapeHtml(options.nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Transfer status - onedrive-connector</title>
<noscript><meta http-equiv="refresh" content="${Math.max(1, Math.floor(options.refreshSeconds))}"></noscript>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header>
<h1>Transfers from ${text(report.container)} to OneDrive</h1>
<div class="bar"><p class="muted" id="updated">Updated <time datetime="${text(report.generatedAt)}">${text(formatTime(report.generatedAt))}</time></p>
<button type="button" id="pause" aria-pressed="false" hidden>Pause updates</button>
<p class="muted" id="refresh-note" role="status"></p></div>
</header>
<main id="status">
${linkSection(report, options)}
${summarySection(report)}
${inFlightSection(report)}
${failuresSection(report, now)}
${queueSection(report, now)}
</main>
<script nonce="${nonce}">${refreshScript(options.refreshSeconds)}</script>
</body>
</html>
`;
}
