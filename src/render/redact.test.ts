import { describe, expect, it } from 'vitest';
import { createRedactor, REDACTED } from './redact.js';

describe('redaction of listed fields', () => {
  const redactor = createRedactor(['properties.email', 'context.ip', 'traits.email', 'properties.*.card'], true);

  it('masks listed paths in a copy, leaving everything else and the input untouched', () => {
    const event = { event: 'x', properties: { email: 'a@b.c', plan: 'pro', pay: { card: '4111', kind: 'visa' } }, context: { ip: '10.0.0.1', app: { version: '2' } }, traits: {} };
    const masked = redactor.object(event);
    expect(masked).toEqual({ event: 'x', properties: { email: REDACTED, plan: 'pro', pay: { card: REDACTED, kind: 'visa' } }, context: { ip: REDACTED, app: { version: '2' } }, traits: {} });
    expect(event.properties.email).toBe('a@b.c');
    expect(event.context.ip).toBe('10.0.0.1');
    // Nothing listed present: the very same object back.
    const clean = { properties: { plan: 'pro' } };
    expect(redactor.object(clean)).toBe(clean);
  });

  it('masks a JSON line by its paths, and a line that is not JSON by key name', () => {
    expect(JSON.parse(redactor.line(JSON.stringify({ userId: 'u', properties: { email: 'a@b.c' }, context: { ip: '1.2.3.4' } })))).toEqual({
      userId: 'u',
      properties: { email: REDACTED },
      context: { ip: REDACTED },
    });
    const broken = '{"userId":"u","properties":{"email":"a@b.c", "n": 1},"context":{"ip": 10.0.0.1,';
    const masked = redactor.line(broken);
    expect(masked).not.toContain('a@b.c');
    expect(masked).not.toContain('10.0.0.1');
    expect(masked).toContain('"userId":"u"');
    expect(redactor.line('not json at all')).toBe('not json at all');
  });

  it('masks a rejected line nested too deep to serialise again as text, without overflowing the stack', () => {
    const deep = `{"userId":"u","properties":{"email":"a@b.c","p":${'['.repeat(5000)}${']'.repeat(5000)}}}`;
    const masked = redactor.line(deep);
    expect(masked).not.toContain('a@b.c');
    expect(masked).toContain(`"p":${'['.repeat(5000)}`);
  });

  it('does nothing with --no-redact or an empty list', () => {
    const event = { properties: { email: 'a@b.c' } };
    expect(createRedactor(['properties.email'], false).object(event)).toBe(event);
    expect(createRedactor([], true).active).toBe(false);
    expect(createRedactor(['properties.email'], false).line('{"properties":{"email":"a@b.c"}}')).toContain('a@b.c');
  });
});
