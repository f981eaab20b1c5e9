import { describe, expect, it } from 'vitest';
import { zh } from './zh';
import { en } from './en';

const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('catalogues', () => {
  it('have the same keys', () => {
    expect(Object.keys(en).sort()).toEqual(Object.keys(zh).sort());
  });
  it('have the same placeholders in every string', () => {
    for (const k of Object.keys(zh) as (keyof typeof zh)[]) expect([k, holes(en[k])]).toEqual([k, holes(zh[k])]);
  });
  it('are not empty and really translated', () => {
    for (const k of Object.keys(zh) as (keyof typeof zh)[]) {
      expect(zh[k].length, k).toBeGreaterThan(0);
      expect(en[k].length, k).toBeGreaterThan(0);
    }
    const same = (Object.keys(zh) as (keyof typeof zh)[]).filter((k) => zh[k] === en[k] && /[\u4e00-\u9fff]/.test(zh[k]));
    expect(same).toEqual([]);
  });
});
