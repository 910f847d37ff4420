import { randomBytes } from "node:crypto";
import type { HttpRequest } from "@azure/functions";
import { renderResultPage } from "../auth/resultPage";
import { errorText } from "../shared/errorText";
import { renderStatusPage } from "./statusPageHtml";
import { statusReportFor, type HttpDependencies, type HttpHandler } from "./transfersHttp";

/** How often the open page reads the status again. */
export const STATUS_REFRESH_SECONDS = 15;

/**
 * The page's headers. Script and style run only with this response's nonce, so markup that slipped into a value
 * could not run; it may fetch only its own origin (its refresh) and submit only there (the relink form); no frame,
 * no Referer (the address carries the function key), never cached (it names blobs and changes every refresh).
 */
export function statusPageHeaders(nonce: string): Record<string, string> {
  return {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Content-Security-Policy": [
      "default-src 'none'",
      `script-src 'nonce-${nonce}'`,
      `style-src 'nonce-${nonce}'`,
      "connect-src 'self'",
      "form-action 'self'",
      "base-uri 'none'",
      "frame-ancestors 'none'",
    ].join("; "),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
  };
}

/** The login route on the host that served this page (same route prefix), without any key. */
export function loginPathFor(request: Pick<HttpRequest, "url">): string {
  const path = new URL(request.url).pathname;
  return /\/status\/?$/.test(path) ? path.replace(/\/status\/?$/, "/auth/login") : "/api/auth/login";
}

/** GET /api/status: the status report as a page a person reads (on a phone too), refreshing itself. */
export function createStatusPageHandler(dependencies: HttpDependencies, options: { refreshSeconds?: number } = {}): HttpHandler {
  return async (request, context) => {
    let report: Awaited<ReturnType<typeof statusReportFor>>;
    try {
      report = await statusReportFor(dependencies, context);
    } catch (error) {
      // The page says what happened without the error itself (it may name the account's endpoints); the log has it.
      context.error(`The status page could not read the ledger: ${errorText(error)}`);
      return renderResultPage({
        status: 503,
        outcome: "failure",
        title: "Status unavailable",
        paragraphs: ["The transfer ledger could not be read just now. The details are in the function's log.", "Reload the page in a minute."],
      });
    }
    const nonce = randomBytes(18).toString("base64");
    return {
      status: 200,
      headers: statusPageHeaders(nonce),
      body: renderStatusPage(report, { nonce, loginPath: loginPathFor(request), refreshSeconds: options.refreshSeconds ?? STATUS_REFRESH_SECONDS }),
    };
  };
}
