// Scenario 3: B reloads during playback: back at the right position, A
// sees no offline/online flap for B, and no notification shows twice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, uniqueName } from './browser.mjs';
import { newUser, createRoom, live, memberRow, mediaUrl, pairDiffMs, until, openBell, unread, T } from './ui.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

/** Record the user_status messages a page receives on its WebSocket. */
function recordPresence(page) {
  const seen = [];
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => {
      try {
        const m = JSON.parse(String(payload));
        if (m.type === 'user_status') seen.push(m.payload);
      } catch {
        /* not JSON */
      }
    });
  });
  return seen;
}

test('reload: right position, no presence flap, no duplicate notification', async () => {
  const a = await newUser(browser, 'a3');
  const b = await newUser(browser, 'b3');
  const presence = recordPresence(a.page);
  const id = await createRoom(a.page, uniqueName('重载测试'), {});
  await b.page.goto(`/rooms/${id}`);
  await b.page.getByRole('button', { name: '加入房间' }).click();
  await live(b.page);
  await memberRow(a.page, b.name).getByText('在线', { exact: true }).waitFor();

  // B gets one notification: A makes B a moderator
  await a.page.getByRole('combobox', { name: `${b.name} 的角色` }).selectOption('moderator');
  await until(async () => (await unread(b.page)) === 1, 'B’s role_changed notification');

  await a.page.getByLabel('视频地址（MP4、WebM 或 m3u8）').fill(mediaUrl());
  await a.page.getByRole('button', { name: '加载视频' }).click();
  await a.page.getByRole('button', { name: '播放', exact: true }).click();
  await until(async () => {
    const { diff, a: sa, b: sb } = await pairDiffMs(a.page, b.page);
    return !sa.paused && !sb.paused && Math.abs(diff) < 250 && sa.t > 2000;
  }, 'both playing in sync before the reload', 30_000);

  const flapsBefore = presence.filter((p) => p.user_id !== undefined && p.username === b.name).length;
  await b.page.reload();
  await live(b.page);
  await until(async () => {
    const { diff, a: sa, b: sb } = await pairDiffMs(a.page, b.page);
    return !sa.paused && !sb.paused && Math.abs(diff) < 250;
  }, 'B back in sync after the reload', 30_000);
  // the reconnect happened within the presence grace: A was told nothing
  await new Promise((r) => setTimeout(r, 2500)); // longer than the test stack's 1 s grace
  const aboutB = presence.filter((p) => p.username === b.name);
  assert.equal(aboutB.length, flapsBefore, `no user_status about B after the reload: ${JSON.stringify(aboutB)}`);
  assert.equal(await memberRow(a.page, b.name).getByText('在线', { exact: true }).count(), 1);

  // the notification is there once, still unread
  assert.equal(await unread(b.page), 1);
  const panel = await openBell(b.page);
  const items = panel.getByRole('listitem').filter({ hasText: '你在' });
  assert.equal(await items.count(), 1);
  await screenshot(b.page, 'bell-after-reload');

  // mark read, reload again: still one, now read
  await items.getByRole('button', { name: '标为已读' }).click();
  await until(async () => (await unread(b.page)) === 0, 'marked read');
  await b.page.reload();
  await live(b.page);
  assert.equal(await unread(b.page), 0);
  const again = await openBell(b.page);
  assert.equal(await again.getByRole('listitem').filter({ hasText: '你在' }).count(), 1);

  // two more (A sets B back to member, then moderator): read all, delete one, clear
  await a.page.getByRole('combobox', { name: `${b.name} 的角色` }).selectOption('member');
  await until(async () => (await unread(b.page)) === 1, 'a second notification, live');
  await a.page.getByRole('combobox', { name: `${b.name} 的角色` }).selectOption('moderator');
  await until(async () => (await unread(b.page)) === 2, 'a third notification, live');
  const bell = await openBell(b.page);
  assert.equal(await bell.getByRole('listitem').count(), 3);
  await bell.getByRole('button', { name: '全部已读' }).click();
  await until(async () => (await unread(b.page)) === 0, 'read all');
  await bell.getByRole('listitem').first().getByRole('button', { name: /^删除通知/ }).click();
  await until(async () => (await bell.getByRole('listitem').count()) === 2, 'one deleted');
  await bell.getByRole('button', { name: '清空通知' }).click();
  await bell.getByText('没有通知。').waitFor();
  await b.page.reload();
  await live(b.page);
  const emptied = await openBell(b.page);
  await emptied.getByText('没有通知。').waitFor();
  assert.equal(await unread(b.page), 0);

  // the profile page
  await b.page.getByRole('link', { name: '个人资料' }).click();
  await b.page.getByRole('heading', { name: '个人资料' }).waitFor({ timeout: T });
  await screenshot(b.page, 'profile');
  await a.context.close();
  await b.context.close();
});
