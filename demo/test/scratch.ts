import { enqueue, launchChromium, openPlayground, screenshot, startPlayground, waitForCount } from './support.ts';
const pg = await startPlayground();
console.log(pg.url);
const browser = await launchChromium();
try {
  const w = await openPlayground(browser, pg.url, '?reset');
  await w.page.setViewportSize({ width: 1400, height: 1000 });
  await enqueue(w.page, 'email.send', 500);
  await waitForCount(w.page, 'successful', 500, 30000).catch(e => console.log('wait failed', String(e)));
  await enqueue(w.page, 'image.resize', 50);
  await new Promise(r => setTimeout(r, 3000));
  await screenshot(w.page, 'scratch');
  console.log('errors', w.errors, 'foreign', w.foreign);
} finally {
  await browser.close();
  console.log('exit', await pg.stop());
}
