import type { HttpResponseInit } from "@azure/functions";

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => HTML_ESCAPES[character]);
}

export interface ResultPage {
  status: number;
  title: string;
  /** Plain text; escaped here, so callers can pass values that came from the request. */
  paragraphs: string[];
  outcome: "success" | "failure";
}

/**
 * A small self-contained page: no scripts, no external resources, no redirect. The headers keep the code-bearing
 * URL out of Referer, stop caching, and forbid everything but the inline style.
 */
export function renderResultPage(page: ResultPage): HttpResponseInit {
  const paragraphs = page.paragraphs.map((text) => `    <p>${escapeHtml(text)}</p>`).join("\n");
  const body = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escapeHtml(page.title)} - onedrive-connector</title>
  <style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}
  h1{font-size:1.5rem}.success h1{color:#0b6a0b}.failure h1{color:#a4262c}</style>
</head>
<body>
  <main class="${page.outcome}" role="${page.outcome === "failure" ? "alert" : "status"}">
    <h1>${escapeHtml(page.title)}</h1>
${paragraphs}
  </main>
</body>
</html>
`;
  return {
    status: page.status,
    body,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      "Referrer-Policy": "no-referrer",
      "X-Content-Type-Options": "nosniff",
    },
  };
}
