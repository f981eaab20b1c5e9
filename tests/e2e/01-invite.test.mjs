// Scenario 1: A creates a private room that needs approval; B cannot find
// it; A invites B by name; B's bell shows it live; B accepts from the bell
// and lands in the room; each sees the other online.  A kicks B: B's page
// says so at once.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { launch, env, person, screenshot, uniqueName } from './browser.mjs';
import { requireApache, newUser, createRoom, invite, openBell, unread, memberRow, live, until } from './ui.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function scenario(base, tag) {
  // the login page, as a visitor sees it
  const v = await person(browser, base);
  await v.page.goto('/rooms/1');
  await v.page.waitForURL(/\/login\?next=/);
  await v.page.getByRole('button', { name: '登录' }).waitFor();
  await screenshot(v.page, `login${tag}`);
  await v.context.close();
  const a = await newUser(browser, `a1${tag}`, base);
  const b = await newUser(browser, `b1${tag}`, base);
  const roomName = uniqueName(`秘密房间${tag}`);
  await screenshot(a.page, `lobby${tag}`);
  const id = await createRoom(a.page, roomName, { is_public: false, require_approval: true });

  // B cannot find it: not in the lobby, not by search, 404 by address
  await b.page.getByRole('searchbox', { name: '搜索房间' }).fill(roomName);
  await b.page.getByRole('button', { name: '搜索', exact: true }).click();
  await b.page.getByText('没有找到房间。').waitFor();
  assert.equal(await b.page.getByRole('link', { name: `进入 ${roomName}` }).count(), 0);
  await b.page.goto(`/rooms/${id}`);
  await b.page.getByRole('heading', { name: '房间不存在，或你没有权限查看。' }).waitFor();
  await b.page.goto('/');
  await live(b.page);
  const before = await unread(b.page);

  await invite(a.page, b.name);
  await screenshot(a.page, `room-owner${tag}`);

  // live: the bell's count goes up without a reload
  await until(async () => (await unread(b.page)) === before + 1, 'the invitation in B’s bell');
  const panel = await openBell(b.page);
  const item = panel.getByRole('listitem').filter({ hasText: `${a.name} 邀请你加入房间「${roomName}」` });
  await item.waitFor();
  await screenshot(b.page, `bell${tag}`);
  await item.getByRole('button', { name: '接受邀请' }).click();
  await b.page.waitForURL(new RegExp(`/rooms/${id}$`));
  await b.page.getByRole('heading', { name: roomName, level: 1 }).waitFor();
  await live(b.page);

  // each sees the other online
  await memberRow(b.page, a.name).getByText('在线', { exact: true }).waitFor();
  await memberRow(a.page, b.name).getByText('在线', { exact: true }).waitFor();
  // B joined as a plain member (the owner's role selector says so)
  assert.equal(await a.page.getByRole('combobox', { name: `${b.name} 的角色` }).inputValue(), 'member');
  await screenshot(b.page, `room-member${tag}`);

  // kicked from a private room: B's page says so and shows nothing of it
  await a.page.getByRole('button', { name: `移出 ${b.name}` }).click();
  await b.page.getByRole('heading', { name: '你已被移出这个房间。' }).waitFor();
  assert.equal(await b.page.getByRole('region', { name: '播放器' }).count(), 0);
  assert.equal(await b.page.getByRole('button', { name: '加入房间' }).count(), 0);
  await a.context.close();
  await b.context.close();
}

test('invite flow through nginx', async () => {
  await scenario(env.baseUrl, '');
});

test('invite flow through Apache', async () => {
  if (requireApache()) await scenario(env.apacheUrl, 'ap');
});
