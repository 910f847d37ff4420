/**
 * Plays the person at the emulator's consent page without a browser: GET the authorize URL, then submit the
 * page's form with Accept or Deny. Returns the redirect the identity platform sends the browser to.
 */
export async function answerConsent(authorizeUrl: string, decision: "accept" | "deny"): Promise<URL> {
  const page = await fetch(authorizeUrl, { redirect: "manual" });
  const html = await page.text();
  if (page.status !== 200) throw new Error(`authorize answered ${page.status}: ${html.slice(0, 300)}`);
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const transaction = /name="transaction" value="([^"]+)"/.exec(html)?.[1];
  if (!action || !transaction) throw new Error("the consent page has no form");
  const submitted = await fetch(new URL(action, authorizeUrl), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ transaction, decision }).toString(),
    redirect: "manual",
  });
  await submitted.arrayBuffer();
  const location = submitted.headers.get("location");
  if (submitted.status !== 302 || !location) throw new Error(`consent answered ${submitted.status} without a redirect`);
  return new URL(location);
}
