// The technician page in a real headless Chromium (Debian's, driven by playwright-core) against a
// real agent analysing the demo clip with the preview on: it loads without a console error, shows the
// camera, its counts change while the clip plays, the preview draws, and a screenshot is saved.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Agent } from '../../src/app.js';
import { ROOT } from '../helpers/paths.js';
import { healthAgent } from './agent-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const DEMO = join(ROOT, 'var', 'demo', 'demo.mp4');
const ARTIFACTS = join(ROOT, 'var', 'test-artifacts');
// The flags this machine needs: no sandbox as root, and no background connections (the network is closed).
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let browser: Browser;
const agents: Agent[] = [];
beforeAll(async () => {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: FLAGS });
});
afterAll(async () => {
  await browser?.close();
  await Promise.all(agents.map((a) => a.stop()));
});

describe.runIf(existsSync(CHROMIUM))('technician page in Chromium', () => {
  it('shows the demo camera with live counts and the annotated preview, without console errors', async () => {
    const agent = healthAgent([{ id: 'demo', source: DEMO, loop: true, fps: 5 }], {
      'preview.enabled': 'true',
      'aggregate.windowS': '2',
      'aggregate.minPeople': '1',
    });
    agents.push(agent);
    await agent.start();
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));

    await page.goto(agent.healthUrl!);
    const card = page.locator('[data-testid=camera][data-camera=demo]');
    await card.waitFor({ timeout: 20_000 });
    await expect.poll(() => page.locator('[data-testid=ready]').textContent(), { timeout: 20_000 }).toBe('ready');

    // The figures are re-rendered from every status event: the analysed-frame count must move.
    const analyzed = async (): Promise<number> =>
      Number((await card.locator('tr', { hasText: 'frames analysed' }).locator('td').textContent()) ?? 'NaN');
    const first = await analyzed();
    await expect.poll(analyzed, { timeout: 10_000 }).toBeGreaterThan(first);
    await expect
      .poll(async () => Number(await card.locator('[data-testid=people]').textContent()), { timeout: 20_000 })
      .toBeGreaterThan(0);
    // Windows close every 2 s; the chart draws them.
    await expect
      .poll(async () => Number(await page.locator('[data-testid=chart]').getAttribute('data-windows')), {
        timeout: 20_000,
      })
      .toBeGreaterThan(0);
    await expect.poll(() => page.locator('#chart svg rect').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    // The audience chart draws the same windows: the demo clip's people are viewers or passers-by.
    await expect.poll(() => page.locator('#attention-chart svg rect').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    // The preview canvas gets the downscaled frame (480 px wide by default).
    await expect
      .poll(() => card.locator('[data-testid=preview]').evaluate((c: HTMLCanvasElement) => c.width), {
        timeout: 20_000,
      })
      .toBe(480);

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = join(ARTIFACTS, 'technician-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    expect(problems).toEqual([]);
  }, 90_000);

  it('asks for the token when the agent requires one, and shows the data once given', async () => {
    const agent = healthAgent([{ id: 'demo', source: DEMO, loop: true, fps: 5 }], {
      'http.host': '0.0.0.0',
      'http.token': 'page-token',
    });
    agents.push(agent);
    await agent.start();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(agent.healthUrl!.replace('0.0.0.0', '127.0.0.1'));
    await page.locator('#login').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.locator('#main').isVisible()).toBe(false);
    await page.fill('#token', 'page-token');
    await page.click('#login button');
    await page.locator('[data-testid=camera][data-camera=demo]').waitFor({ timeout: 20_000 });
    expect(errors).toEqual([]);
  }, 60_000);
});
