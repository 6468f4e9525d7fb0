import { expect } from 'chai';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { removeDir, tempDir } from '../support/fixtures.js';
import { type Lab, PUBLIC, startLab } from './lab.js';

/**
 * The pages in headless Chromium (Debian's, driven by playwright-core): click project → commits
 * → commit → a status's target_url, with the lab's injections on every page, and check that
 * none of them ran (no dialog, no window.__pwned, no CSP-blocked inline script attempt that got
 * through). Each page's screenshot goes to test-artifacts/pages/ (gitignored). Without
 * /usr/bin/chromium the suite says it skipped, except under CI, where that fails.
 */

/** Debian's chromium (FAKELAB_CHROMIUM names another, e.g. a missing one to see the skip). */
export const CHROMIUM = process.env.FAKELAB_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts/pages');

describe('Pages in a browser (headless Chromium)', function () {
  let lab: Lab;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const dialogs: string[] = [];
  const consoleErrors: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      const why = `${CHROMIUM} does not exist (apt-get install -y chromium)`;
      if (process.env.CI) throw new Error(`${why}, and CI must not skip the browser tests`);
      console.warn(`    skipped: ${why}: the browser tests did not run`);
      this.skip();
    }
    const { chromium } = await import('playwright-core');
    lab = await startLab();
    profile = tempDir('fakelab-chromium-');
    mkdirSync(ARTIFACTS, { recursive: true });
    // A persistent context is how playwright gives Chromium a user-data-dir of its own (fresh here).
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 1280, height: 900 },
    });
    browser = context.browser()!;
    void browser;
    page = context.pages()[0] ?? (await context.newPage());
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    // Nothing outside the lab's server may be fetched (a status's target_url is answered here).
    await context.route('https://ci.example/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<!DOCTYPE html><title>CI job</title><h1>CI job page</h1>' }));
  });

  after(async () => {
    await context?.close();
    if (profile) removeDir(profile);
    await lab?.stop();
  });

  async function noInjectionRan(what: string): Promise<void> {
    const pwned = await page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned);
    expect(pwned, `${what}: window.__pwned`).to.equal(undefined);
    expect(dialogs, `${what}: dialogs`).to.deep.equal([]);
    // No script element made it into the document, and no element carries an event handler attribute.
    const found = await page.evaluate(() => ({
      scripts: document.querySelectorAll('script').length,
      handlers: [...document.querySelectorAll('*')].filter((el) => [...el.attributes].some((a) => a.name.startsWith('on'))).length,
      javascriptLinks: [...document.querySelectorAll('a[href]')].filter((a) => (a as HTMLAnchorElement).protocol === 'javascript:').length,
    }));
    expect(found, what).to.deep.equal({ scripts: 0, handlers: 0, javascriptLinks: 0 });
  }

  async function shoot(name: string): Promise<void> {
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  }

  it('clicks project → commits → commit → status link, and no injected script runs on the way', async () => {
    await page.goto(`${lab.server.url}/`);
    await noInjectionRan('projects');
    await shoot('01-projects');

    await page.click(`a.project-link[href="/${PUBLIC}"]`);
    await page.waitForURL(`${lab.server.url}/${PUBLIC}`);
    expect(await page.textContent('h1')).to.include('pages');
    await noInjectionRan('project');
    await shoot('02-project');

    await page.click('nav.tabs >> text=Commits');
    await page.waitForURL(`${lab.server.url}/${PUBLIC}/-/commits/main`);
    expect(await page.locator('ul.commits li').count()).to.be.greaterThan(3);
    await noInjectionRan('commits');
    await shoot('03-commits');

    // The injection commit: its title is shown as text, markup and all.
    await page.click(`li[data-sha="${lab.sha.inject}"] a.commit-title`);
    await page.waitForURL(`${lab.server.url}/${PUBLIC}/-/commit/${lab.sha.inject}`);
    expect(await page.textContent('h1.commit-title')).to.include('<script>window.__pwned="title"</script>');
    // The stylesheet applied (the CSP lets this server's stylesheet in).
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('table.diff')!).borderCollapse)).to.equal('collapse');
    await noInjectionRan('commit');
    await shoot('04-commit');
    // The README's picture (docs/commit-page.png), remade on request: FAKELAB_DOCS_SCREENSHOT=1.
    if (process.env.FAKELAB_DOCS_SCREENSHOT) {
      await page.setViewportSize({ width: 1000, height: 1150 });
      await page.screenshot({ path: path.resolve(ARTIFACTS, '../../docs/commit-page.png') });
      await page.setViewportSize({ width: 1280, height: 900 });
    }

    // The javascript: target_url is not a link; the http one is, and leads to the CI page.
    expect(await page.locator('tr.status-row a.target-url').count()).to.equal(2);
    await page.click('tr.status-row a.target-url[href^="https://ci.example/lint/"]');
    await page.waitForURL('https://ci.example/lint/2');
    expect(await page.textContent('h1')).to.equal('CI job page');
    await page.goBack();

    await page.click('dd a[href*="/-/pipelines/"]');
    await page.waitForURL(new RegExp(`/${PUBLIC.replace('/', '\\/')}/-/pipelines/\\d+$`));
    await noInjectionRan('pipeline');
    await shoot('05-pipeline');

    for (const [name, url] of [
      ['06-branches', `/${PUBLIC}/-/branches`],
      ['07-tags', `/${PUBLIC}/-/tags`],
      ['08-compare', `/${PUBLIC}/-/compare/v0.1...main`],
      ['09-big-commit', `/${PUBLIC}/-/commit/${lab.sha.big}`],
      ['10-login', '/-/login'],
    ]) {
      await page.goto(`${lab.server.url}${url}`);
      await noInjectionRan(name);
      await shoot(name);
    }
    expect(consoleErrors.filter((e) => !/Content Security Policy/.test(e))).to.deep.equal([]);
  });

  it('signs in through the form and sees the control page', async () => {
    await page.goto(`${lab.server.url}/-/login`);
    await page.fill('input[name=token]', 'pages-admin-token');
    await page.click('form.login button[type=submit]');
    await page.waitForURL(`${lab.server.url}/`);
    expect(await page.textContent('header.top')).to.include('Signed in as root');
    const cookies = await context.cookies(lab.server.url);
    const session = cookies.find((c) => c.name === 'fakelab_session')!;
    expect(session.httpOnly).to.equal(true);
    expect(session.sameSite).to.equal('Strict');
    expect(await page.evaluate(() => document.cookie)).to.equal('');
    await page.click('a[href="/-/fakelab"]');
    await page.waitForURL(`${lab.server.url}/-/fakelab`);
    expect(await page.locator('tr.journal-entry').count()).to.be.greaterThan(0);
    await noInjectionRan('control');
    await shoot('11-control');
  });
});
