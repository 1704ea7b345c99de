// Browser helpers: the system Chromium driven by playwright-core (no browser download), logins
// through the real OIDC pages, axe-core checks and screenshots at desktop and phone widths.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { api } from '../../api/lib/ent.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
export const SHOTS = join(here, '..', 'screenshots');
mkdirSync(SHOTS, { recursive: true });

export const CHROMIUM = process.env.ENT_CHROMIUM || '/usr/bin/chromium';
export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 375, height: 740 };

export async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/**
 * A new page in its own context (its own cookies: one person each). Console errors and CSP
 * violations are collected in page.problems for the tests to check.
 */
export async function newPage(browser, viewport = DESKTOP) {
  const context = await browser.newContext({ viewport, locale: 'fr-FR', acceptDownloads: true });
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') page.problems.push(m.text());
  });
  page.on('pageerror', (e) => page.problems.push(String(e)));
  page.setDefaultTimeout(15000);
  return page;
}

/** Logs in through the portal's login page and the provider's form; ends on /portail. */
/** RFC 6238 (SHA-1, 6 digits, 30 s) from a base32 key, as an authenticator application computes it. */
export function totp(b32, ms = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of b32.replace(/=+$/, '')) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(Math.floor(ms / 1000 / 30)));
  const h = createHmac('sha1', key).update(msg).digest();
  const o = h[19] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1000000).padStart(6, '0');
}

/** Recovery codes of the accounts enrolled by login() in this run (each works once). */
const recoveryCodes = new Map();

export async function login(page, ent, email, password) {
  await page.goto(`${ent.url}/portail`);
  await page.getByRole('button', { name: 'Se connecter' }).click();
  await page.waitForURL(/\/realms\/ent\/protocol\/openid-connect\/auth/);
  await page.fill('#username', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  // Staff with a second factor: the first login enrols it (key shown, a first code, recovery codes
  // noted); later logins use a recovery code (a TOTP code is never accepted twice in its 30 s).
  await page.waitForURL((u) => u.pathname === '/portail' || u.pathname.endsWith('/login-actions/authenticate'));
  if (new URL(page.url()).pathname !== '/portail') {
    const secret = page.locator('#secret');
    if (await secret.count()) {
      await page.fill('#code', totp((await secret.textContent()).replace(/\s/g, '')));
      await page.click('button[type=submit]');
      await page.locator('#recovery').waitFor();
      recoveryCodes.set(email, await page.locator('#recovery code').allTextContents());
      await page.getByRole('button', { name: /continuer/ }).click();
    } else if (await page.locator('#code').count()) {
      const codes = recoveryCodes.get(email) || [];
      if (!codes.length) throw new Error(`${email} has a second factor this run did not enrol`);
      await page.fill('#code', codes.shift());
      await page.click('button[type=submit]');
    }
  }
  await page.waitForURL(`${ent.url}/portail`);
  await page.getByRole('heading', { level: 1 }).waitFor();
}

/** axe-core on the current page: the violations of impact serious or critical. */
export async function seriousViolations(page) {
  // Evaluated through the DevTools protocol: the page's CSP (no inline script) does not apply.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

/** A screenshot of the whole page under screenshots/NAME-VIEW.png. */
export async function shot(page, name) {
  const { width } = page.viewportSize();
  const view = width <= 480 ? 'phone' : 'desktop';
  // From the top, so that the sticky header is photographed in place.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}-${view}.png`), fullPage: true });
}

/** Checks accessibility and takes the screenshots of the current page at both widths. */
export async function review(t, page, name, assert) {
  await shot(page, name);
  const v = await seriousViolations(page);
  assert.deepEqual(v, [], `${name}: axe-core serious or critical violations`);
  const before = page.viewportSize();
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(150); // layout settles (media queries, chart resize)
  await shot(page, name);
  const vp = await seriousViolations(page);
  assert.deepEqual(vp, [], `${name} (375 px): axe-core serious or critical violations`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${name} (375 px): the page scrolls sideways by ${overflow}px`);
  await page.setViewportSize(before);
}

/**
 * The API as a user of the test server ent, to set a scene up: as(email, path, opts) answers the
 * JSON of a call with a token from `ent token` (any status of 400 or more fails the test).
 */
export function apiAs(ent) {
  return async function as(email, path, opts = {}) {
    const t = ent.run(['token', email]);
    assert.equal(t.status, 0, t.stderr);
    const r = await api(ent, path, { ...opts, headers: { Authorization: `Bearer ${t.stdout.trim()}`, ...(opts.headers || {}) } });
    assert.ok(r.status < 400, `${path}: ${r.status} ${r.text}`);
    return r.json;
  };
}
