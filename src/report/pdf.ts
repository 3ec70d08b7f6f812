// The PDF form: the HTML report printed by headless Chromium through playwright-core (Debian's
// /usr/bin/chromium; nothing is downloaded). Without a Chromium the error says how to get one.
import { existsSync } from 'node:fs';
import { ReportError } from './errors.ts';

/** Where Chromium is: $SOVEREIGN_CHROMIUM when set (and only there), else the usual Debian/Ubuntu paths. */
export function chromiumPath(): string | null {
  const chosen = process.env.SOVEREIGN_CHROMIUM;
  const candidates = chosen !== undefined && chosen !== '' ? [chosen] : ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  for (const c of candidates) if (existsSync(c)) return c;
  return null;
}

/** Flags for a headless Chromium that makes no network call of its own. */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export async function renderPdf(html: string): Promise<Buffer> {
  const executablePath = chromiumPath();
  if (executablePath === null) {
    throw new ReportError(
      'SOVEREIGN_REPORT_NO_BROWSER',
      `PDF needs headless Chromium and none was found (looked at ${process.env.SOVEREIGN_CHROMIUM ? `$SOVEREIGN_CHROMIUM=${process.env.SOVEREIGN_CHROMIUM}` : '/usr/bin/chromium, /usr/bin/chromium-browser, /usr/bin/google-chrome'}): install it (Debian: apt-get install chromium) or point SOVEREIGN_CHROMIUM at it, or write --format html and print that`,
    );
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    // The page is self-contained: anything it would fetch is refused.
    await page.route('**/*', (route) => (route.request().url().startsWith('data:') ? route.continue() : route.abort()));
    await page.setContent(html, { waitUntil: 'load' });
    return await page.pdf({ format: 'A4', printBackground: true, margin: { top: '15mm', bottom: '15mm', left: '12mm', right: '12mm' }, displayHeaderFooter: true, headerTemplate: '<span></span>', footerTemplate: '<div style="font-size:8px;width:100%;text-align:center">Sovereign compliance report · page <span class="pageNumber"></span> of <span class="totalPages"></span></div>' });
  } finally {
    await browser.close();
  }
}
