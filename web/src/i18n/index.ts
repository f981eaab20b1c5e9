// The language: 中文 first, English switchable, remembered in localStorage;
// <html lang> follows it.
import { signal } from '@preact/signals';
import { zh, type Key } from './zh';
import { en } from './en';

export type Lang = 'zh' | 'en';
const STORE = 'yq.lang';
const catalogues = { zh, en } as const;

function initial(): Lang {
  try {
    return localStorage.getItem(STORE) === 'en' ? 'en' : 'zh';
  } catch {
    return 'zh';
  }
}

export const lang = signal<Lang>(initial());

function applyLang(l: Lang) {
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}
applyLang(lang.value);

export function setLang(l: Lang): void {
  lang.value = l;
  try {
    localStorage.setItem(STORE, l);
  } catch {
    /* private mode: not remembered */
  }
  applyLang(l);
}

export function t(key: Key, vars?: Record<string, string | number>): string {
  let s: string = catalogues[lang.value][key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m));
  return s;
}

export type { Key };
