// Accounts in the browser: readable errors (duplicate name, weak password,
// wrong password), login by email, a session that survives a reload, a
// password change that ends the other session (back at the login page
// saying why), logout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, person } from './browser.mjs';
import { newUser, live, PASSWORD, T } from './ui.mjs';

let browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

test('errors, login by email, revoked session, logout', async () => {
  const a = await newUser(browser, 'a7');
  const v = await person(browser);
  v.page.setDefaultTimeout(T);

  // register: a taken name and a weak password say so
  await v.page.goto('/register');
  await v.page.getByLabel('用户名', { exact: true }).fill(a.name.toUpperCase());
  await v.page.getByLabel('邮箱', { exact: true }).fill(`other_${a.name}@example.com`);
  await v.page.getByLabel('密码', { exact: true }).fill('short');
  await v.page.getByRole('button', { name: '注册' }).click();
  await v.page.getByRole('alert').filter({ hasText: '密码至少需要 8 个字符。' }).waitFor();
  await v.page.getByLabel('密码', { exact: true }).fill(PASSWORD);
  await v.page.getByRole('button', { name: '注册' }).click();
  await v.page.getByRole('alert').filter({ hasText: '该用户名已被注册。' }).waitFor();

  // log in: wrong password, then by email
  await v.page.goto('/login');
  await v.page.getByLabel('用户名或邮箱').fill(`${a.name}@example.com`);
  await v.page.getByLabel('密码', { exact: true }).fill('wrong-password-1');
  await v.page.getByRole('button', { name: '登录', exact: true }).click();
  await v.page.getByRole('alert').filter({ hasText: '用户名或密码错误。' }).waitFor();
  await v.page.getByLabel('密码', { exact: true }).fill(PASSWORD);
  await v.page.getByRole('button', { name: '登录', exact: true }).click();
  await v.page.getByRole('heading', { name: '房间', exact: true }).waitFor();
  await live(v.page);

  // the session survives a reload; no token in the address
  await v.page.reload();
  await v.page.getByRole('heading', { name: '房间', exact: true }).waitFor();
  await live(v.page);
  assert.ok(!/token/i.test(v.page.url()));

  // English, remembered across a reload; <html lang> follows
  await v.page.getByRole('button', { name: '切换语言' }).click();
  await v.page.getByRole('heading', { name: 'Rooms', exact: true }).waitFor();
  assert.equal(await v.page.evaluate(() => document.documentElement.lang), 'en');
  await v.page.reload();
  await v.page.getByRole('tab', { name: 'My rooms' }).waitFor();
  await v.page.getByRole('button', { name: 'Switch language' }).click();
  await v.page.getByRole('heading', { name: '房间', exact: true }).waitFor();
  assert.equal(await v.page.evaluate(() => document.documentElement.lang), 'zh-CN');

  // A changes the password: the other session ends and says why
  await a.page.getByRole('link', { name: '个人资料' }).click();
  await a.page.getByLabel('新密码（留空则不修改）').fill(`${PASSWORD}-new`);
  await a.page.getByLabel('当前密码（修改邮箱或密码时需要）').fill(PASSWORD);
  await a.page.getByRole('button', { name: '保存资料' }).click();
  await a.page.getByText('密码已修改，请用新密码重新登录。').waitFor();
  // (the ws daemon closes the other session's socket with 4401, whose
  // refresh fails: the page goes to the login page by itself and says why)
  await v.page.getByText('登录已失效（可能在其他地方修改了密码或退出了登录），请重新登录。').waitFor();
  assert.match(v.page.url(), /\/login/);

  // the new password works; logout returns to the login page
  await a.page.getByLabel('用户名或邮箱').fill(a.name);
  await a.page.getByLabel('密码', { exact: true }).fill(`${PASSWORD}-new`);
  await a.page.getByRole('button', { name: '登录', exact: true }).click();
  await a.page.getByRole('heading', { name: '房间', exact: true }).waitFor();
  await a.page.getByRole('button', { name: '退出登录' }).click();
  await a.page.getByText('已退出登录。').waitFor();
  await a.page.reload();
  await a.page.getByRole('button', { name: '登录', exact: true }).waitFor();
  assert.equal(await a.page.getByRole('button', { name: '退出登录' }).count(), 0);
  await a.context.close();
  await v.context.close();
});
