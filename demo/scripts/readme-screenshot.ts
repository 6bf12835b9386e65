/**
 * Regenerates docs/playground.png, the README's screenshot: the playground with three entrypoints
 * busy (a rate-limited one, a flaky one with retries and dead letters, a serialized one) and a
 * cron schedule.
 *
 *   npx tsx --conditions=source demo/scripts/readme-screenshot.ts
 */
import { fileURLToPath } from 'node:url';
import { enqueue, launchChromium, openPlayground, setField, startPlayground } from '../test/support.ts';

const out = fileURLToPath(new URL('../../docs/playground.png', import.meta.url));
const playground = await startPlayground();
const browser = await launchChromium();
try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1300 }, deviceScaleFactor: 1 });
  const w = await openPlayground(context, playground.url, '?reset');
  const page = w.page;
  await setField(page, 'email.send:requestsPerSecond', 150);
  await setField(page, 'email.send:durationMs', 60);
  await setField(page, 'image.resize:failurePercent', 30);
  await setField(page, 'image.resize:maxAttempts', 2);
  const schedule = page.locator('#schedule-form');
  await schedule.locator('[name="name"]').fill('digest');
  await schedule.locator('[name="expression"]').fill('*/5 * * * * *');
  await schedule.locator('[name="entrypoint"]').selectOption('report.build');
  await schedule.locator('[name="jobsPerTick"]').fill('1');
  await schedule.locator('button[type="submit"]').click();
  await enqueue(page, 'email.send', 4_000, { payloadBytes: '120' });
  await enqueue(page, 'image.resize', 150, { priority: '5' });
  await enqueue(page, 'report.build', 6, { priority: '0' });
  await new Promise((resolve) => setTimeout(resolve, 14_000));
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: out });
  console.log(`wrote ${out}`);
  if (w.errors.length > 0) console.log('console errors:', w.errors);
} finally {
  await browser.close();
  await playground.stop();
}
