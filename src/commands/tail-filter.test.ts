import { describe, expect, it } from 'vitest';
import { createSampler, eventNameOf, jsonValueMatches, matchesInputEvent, parseGrep, parseLimit, parseSample, parseWhere } from './tail-filter.js';

describe('tail filters', () => {
  it('parses --where: a bare key is a property, context/traits paths reach further, the value is everything after the first =', () => {
    expect(parseWhere('plan=pro')).toEqual({ path: ['properties', 'plan'], value: 'pro' });
    expect(parseWhere('context.app.version=2.3.1')).toEqual({ path: ['context', 'app', 'version'], value: '2.3.1' });
    expect(parseWhere('a=1; DROP TABLE raw_events')).toEqual({ path: ['properties', 'a'], value: '1; DROP TABLE raw_events' });
    expect(parseWhere('url=https://x/?a=b')).toEqual({ path: ['properties', 'url'], value: 'https://x/?a=b' });
    expect(() => parseWhere('=x')).toThrow(/not key=value/);
    expect(() => parseWhere('novalue')).toThrow(/not key=value/);
    expect(() => parseWhere('a..b=1')).toThrow(/not a property path/);
  });

  it('refuses bad --sample, --grep and --limit values as usage errors', () => {
    expect(parseSample('0.1')).toBe(0.1);
    for (const bad of ['0', '1.5', '-1', 'lots']) expect(() => parseSample(bad)).toThrow(/not a rate/);
    expect(() => parseGrep('(')).toThrow(/not a regular expression/);
    expect(parseLimit('3')).toBe(3);
    expect(() => parseLimit('0')).toThrow(/positive whole number/);
  });

  it('samples deterministically by key, keeping about the asked fraction', () => {
    const sample = createSampler(0.1);
    const keys = Array.from({ length: 20_000 }, (_, i) => `msg-${i}`);
    const kept = keys.filter(sample);
    expect(kept.length / keys.length).toBeGreaterThan(0.09);
    expect(kept.length / keys.length).toBeLessThan(0.11);
    expect(keys.filter(createSampler(0.1))).toEqual(kept); // the same records every time
    expect(keys.filter(createSampler(0.2)).length).toBeGreaterThan(kept.length);
    expect(keys.filter(createSampler(null))).toHaveLength(keys.length);
  });

  it('matches a raw input event like the raw store matches a stored one', () => {
    const input = {
      type: 'track',
      event: 'order_completed',
      userId: 'u1',
      anonymousId: 'a1',
      properties: { plan: 'pro', total: 3.5, ok: true, nested: { a: 1 } },
      context: { app: { version: '2.3.1' }, ip: '1.2.3.4' },
    };
    const m = (extra: object) => matchesInputEvent(input, { where: [], ...extra });
    expect(m({ ids: ['a1'] })).toBe(true);
    expect(m({ ids: ["x' OR '1'='1"] })).toBe(false);
    expect(m({ event: 'order_completed', appVersion: '2.3.1' })).toBe(true);
    expect(m({ appVersion: '2.3.0' })).toBe(false);
    expect(m({ where: [parseWhere('plan=pro'), parseWhere('total=3.50'), parseWhere('ok=true'), parseWhere('context.ip=1.2.3.4')] })).toBe(true);
    expect(m({ where: [parseWhere('nested={"a":1}')] })).toBe(false);
    expect(m({ where: [parseWhere('a=1; DROP TABLE raw_events')] })).toBe(false);
    expect(eventNameOf({ type: 'page' })).toBe('page_viewed');
    expect(eventNameOf({ type: 'screen', name: 'Home' })).toBe('Home');
    expect(jsonValueMatches(null, 'null')).toBe(true);
    expect(jsonValueMatches('3', '3')).toBe(true);
    expect(jsonValueMatches(3, 'three')).toBe(false);
  });
});
