// Scenario 4: chat both ways; a newcomer sees history while 聊天记录 is on
// and none once it is off; `<script>` shows as text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, screenshot, uniqueName } from './browser.mjs';
import { newUser, createRoom, live, setFlags } from './ui.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

const log = (page) => page.getByRole('list', { name: '聊天记录' });

async function say(page, text) {
  await page.getByRole('textbox', { name: '消息' }).fill(text);
  await page.getByRole('button', { name: '发送' }).click();
  await log(page).getByText(text, { exact: true }).waitFor();
}

async function join(page, id) {
  await page.goto(`/rooms/${id}`);
  await page.getByRole('button', { name: '加入房间' }).click();
  await live(page);
}

test('chat, history on and off, text never HTML', async () => {
  const a = await newUser(browser, 'a4');
  const id = await createRoom(a.page, uniqueName('聊天室'), {});
  await say(a.page, '大家好，我先到了');

  // B is a newcomer while history is on: sees A's earlier message
  const b = await newUser(browser, 'b4');
  await join(b.page, id);
  await log(b.page).getByText('大家好，我先到了', { exact: true }).waitFor();

  // both ways
  await say(b.page, '你好 A');
  await log(a.page).getByText('你好 A', { exact: true }).waitFor();
  const evil = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
  await say(a.page, evil);
  await log(b.page).getByText(evil, { exact: true }).waitFor();
  for (const p of [a.page, b.page]) {
    assert.equal(await p.evaluate(() => window.__pwned), undefined);
    assert.equal(await log(p).locator('script, img').count(), 0);
  }
  await screenshot(b.page, 'chat');

  // history off: the next newcomer sees nothing of the past
  const settings = a.page.getByRole('region', { name: '房间设置' });
  await setFlags(settings, { keep_chat_history: false });
  await settings.getByRole('button', { name: '保存设置' }).click();
  await settings.getByText('设置已保存。').waitFor();
  await b.page.getByText('本房间不保存聊天记录。').waitFor(); // B's page learnt it live
  await say(a.page, '这条不会被保存');

  const c = await newUser(browser, 'c4');
  await join(c.page, id);
  await log(c.page).getByText('还没有消息。').waitFor();
  assert.equal(await log(c.page).getByRole('listitem').count(), 1);
  // live chat still works for everyone
  await say(c.page, '我是新来的');
  await log(a.page).getByText('我是新来的', { exact: true }).waitFor();
  await log(b.page).getByText('我是新来的', { exact: true }).waitFor();
  for (const x of [a, b, c]) await x.context.close();
});
