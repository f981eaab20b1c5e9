// UI helpers shared by the scenarios: they drive the page the way a person
// does, by role and accessible name (中文, the default language).
import assert from 'node:assert/strict';
import { env, person, screenshot, uniqueName } from './browser.mjs';

export const PASSWORD = 'correct-horse-9';
export const T = 20_000; // generous waits for a loaded 2-core box

/** A new person: a fresh browser context, registered and logged in through the UI. */
export async function newUser(browser, prefix, base = env.baseUrl) {
  const { context, page } = await person(browser, base);
  page.setDefaultTimeout(T);
  const name = uniqueName(prefix);
  await page.goto('/register');
  await page.getByLabel('用户名', { exact: true }).waitFor();
  await screenshot(page, 'register');
  await page.getByLabel('用户名', { exact: true }).fill(name);
  await page.getByLabel('邮箱', { exact: true }).fill(`${name}@example.com`);
  await page.getByLabel('密码', { exact: true }).fill(PASSWORD);
  await page.getByRole('button', { name: '注册' }).click();
  await page.getByRole('heading', { name: '房间', exact: true }).waitFor();
  return { context, page, name };
}

const FLAG_LABELS = {
  is_public: '公开',
  require_approval: '需要同意',
  keep_chat_history: '聊天记录',
  sync_playback: '同步播放',
  guest_control: '成员可控制',
};

/** Set checkboxes of a config form (within `scope`) by their 中文 labels. */
export async function setFlags(scope, flags) {
  for (const [k, v] of Object.entries(flags)) {
    const box = scope.getByRole('checkbox', { name: FLAG_LABELS[k], exact: true });
    await box.setChecked(v);
  }
}

/** Create a room from the lobby; returns its id (the page is in the room). */
export async function createRoom(page, name, flags = {}) {
  await page.goto('/');
  const form = page.getByRole('region', { name: '创建房间' });
  await form.getByLabel('房间名称').fill(name);
  await setFlags(form, flags);
  await form.getByRole('button', { name: '创建房间' }).click();
  await page.waitForURL(/\/rooms\/\d+$/);
  await page.getByRole('heading', { name, level: 1 }).waitFor();
  const id = Number(new URL(page.url()).pathname.split('/').pop());
  assert.ok(id > 0);
  await live(page);
  return id;
}

/** Wait until the page's live connection is up. */
export async function live(page) {
  await page.getByRole('status', { name: '实时连接状态：已连接' }).waitFor();
}

/** The member list entry of `name` (a listitem in the 成员 list). */
export function memberRow(page, name) {
  return page.getByRole('list', { name: '成员' }).getByRole('listitem').filter({ hasText: name });
}

export async function openBell(page) {
  const bell = page.getByRole('button', { name: /^通知（\d+ 条未读）$/ });
  if ((await bell.getAttribute('aria-expanded')) !== 'true') await bell.click();
  return page.getByRole('region', { name: '通知' });
}

export async function unread(page) {
  const label = await page.getByRole('button', { name: /^通知（\d+ 条未读）$/ }).getAttribute('aria-label');
  return Number(/（(\d+) 条未读）/.exec(label)[1]);
}

/** Invite `who` from the room page's invite search. */
export async function invite(page, who) {
  await page.getByRole('searchbox', { name: '按用户名搜索' }).fill(who);
  await page.getByRole('search').filter({ has: page.getByRole('searchbox', { name: '按用户名搜索' }) })
    .getByRole('button', { name: '搜索' }).click();
  await page.getByRole('button', { name: `邀请 ${who}` }).click();
  await page.getByText(`已邀请 ${who}。`).waitFor();
}

/** The <video>'s state, stamped with the page's wall clock. */
export async function videoState(page) {
  return page.getByLabel('视频', { exact: true }).evaluate((v) => ({
    t: v.currentTime * 1000, paused: v.paused, rate: v.playbackRate, at: performance.timeOrigin + performance.now(),
    ready: v.readyState, src: v.currentSrc,
  }));
}

/**
 * The two pages' positions at one instant: each sample is extrapolated to
 * the later sample's wall clock (both pages run on this machine's clock).
 */
export async function pairDiffMs(a, b) {
  const [sa, sb] = await Promise.all([videoState(a), videoState(b)]);
  const at = Math.max(sa.at, sb.at);
  const pa = sa.t + (sa.paused ? 0 : (at - sa.at) * sa.rate);
  const pb = sb.t + (sb.paused ? 0 : (at - sb.at) * sb.rate);
  return { diff: pa - pb, a: sa, b: sb };
}

/** Poll fn until it returns a truthy value (or throw after `ms`). */
export async function until(fn, what, ms = T) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
}

export function mediaUrl(base = env.baseUrl) {
  return new URL(env.mediaPath, base).href;
}

/**
 * Scenarios 1 and 2 also run through Apache.  Without YQ_APACHE_URL the
 * test fails (./devstack e2e always sets it); only a developer's run
 * against a bare nginx stack may opt out with YQ_E2E_REQUIRE_APACHE=0.
 */
export function requireApache() {
  if (env.apacheUrl) return true;
  assert.equal(process.env.YQ_E2E_REQUIRE_APACHE, '0', 'YQ_APACHE_URL is unset: the Apache half cannot run');
  return false;
}
