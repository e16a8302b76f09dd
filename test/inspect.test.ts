import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseNdjson, runCli } from './helpers/cli.js';
import { noisyJourneyLines, toLine } from './helpers/journeys.js';

const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);

describe('journeyctl inspect', () => {
  let dataDir: string;
  let config: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jc-inspect-'));
    const lines = noisyJourneyLines();
    lines.push(toLine({ type: 'identify', messageId: 'dora-id', userId: 'dora', anonymousId: 'anon-dora', minutes: 1, traits: { email: 'dora@example.com', plan: 'pro' } }));
    lines.push(toLine({ messageId: 'dora-1', event: 'form_submitted', anonymousId: 'anon-dora', minutes: 0, properties: { email: 'dora@example.com', form: 'signup' } }));
    const input = join(dataDir, 'input.ndjson');
    writeFileSync(input, `${lines.join('\n')}\n`);
    config = join(dataDir, 'journeyctl.yaml');
    writeFileSync(config, 'redact: [properties.email, traits.email]\n');
    expect((await runCli(['run', '--input', input, '--data-dir', dataDir])).code).toBe(0);
  });
  const cli = (args: string[]) => runCli([...args, '--data-dir', dataDir, '--config', config]);

  it('inspects a user as JSON when piped: profile, identity links, user funnels, and every session with its labels, flags, funnels and events', async () => {
    const result = await cli(['inspect', 'user', 'alice']);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as Record<string, any>;
    expect(Object.keys(body)).toEqual(['kind', 'requested_id', 'user_id', 'identity', 'funnels', 'sessions', 'corrections']);
    expect(body).toMatchObject({ kind: 'user', requested_id: 'alice', user_id: 'alice', corrections: [] });
    expect(body.identity).toMatchObject({ user_id: 'alice', ids: ['alice', 'anon-alice'], links: [{ from: 'anon-alice', to: 'alice' }] });
    expect(body.identity.profile).toMatchObject({ user_id: 'alice', identified: true, anonymous_ids: ['anon-alice'], traits: { plan: 'pro' } });
    const sessions = parseNdjson((await cli(['export', 'sessions'])).stdout).filter((s) => s.user_id === 'alice');
    expect(body.sessions.map((s: any) => s.session)).toEqual(sessions);
    const events = parseNdjson((await cli(['export', 'events'])).stdout).filter((e) => e.user_id === 'alice');
    expect(body.sessions.flatMap((s: any) => s.events)).toEqual(events);
    const journeys = parseNdjson((await cli(['export', 'journeys'])).stdout).filter((j) => j.user_id === 'alice');
    expect(body.funnels).toEqual(journeys.filter((j) => j.scope === 'user'));
    expect(body.sessions.flatMap((s: any) => s.funnels)).toEqual(expect.arrayContaining(journeys.filter((j) => j.scope === 'session')));
    for (const session of body.sessions) {
      expect(session.labels.map((l: any) => l.name)).toEqual(session.session.labels);
      expect(session.flags.map((f: any) => f.name).sort()).toEqual([...session.session.flags].sort());
    }
  });

  it('resolves an anonymous id to its user, and inspects one session with the identity of its user', async () => {
    const byAnonymous = JSON.parse((await cli(['inspect', 'user', 'anon-alice'])).stdout) as Record<string, any>;
    expect(byAnonymous).toMatchObject({ requested_id: 'anon-alice', user_id: 'alice' });
    const sessionId = byAnonymous.sessions[0].session.session_id as string;
    const result = await cli(['inspect', 'session', sessionId]);
    expect(result.code).toBe(0);
    const body = JSON.parse(result.stdout) as Record<string, any>;
    expect(Object.keys(body)).toEqual(['kind', 'session', 'labels', 'flags', 'funnels', 'events', 'identity', 'corrections']);
    expect(body).toMatchObject({ kind: 'session', session: byAnonymous.sessions[0].session, identity: byAnonymous.identity, corrections: [] });
    expect(body.events).toEqual(byAnonymous.sessions[0].events);
    // Session funnels plus the user's, like explain.
    expect(body.funnels.map((f: any) => f.scope).sort()).toEqual(['session', 'session', 'user', 'user']);
  });

  it('masks redacted properties and traits unless --no-redact', async () => {
    const masked = JSON.parse((await cli(['inspect', 'user', 'dora'])).stdout) as Record<string, any>;
    expect(masked.identity.profile.traits).toEqual({ email: '[redacted]', plan: 'pro' });
    expect(masked.sessions[0].events[0].properties).toEqual({ email: '[redacted]', form: 'signup' });
    expect(JSON.stringify(masked)).not.toContain('dora@example.com');
    const table = await cli(['inspect', 'user', 'dora', '--output', 'table']);
    expect(table.stdout).not.toContain('dora@example.com');
    const plain = JSON.parse((await cli(['inspect', 'user', 'dora', '--no-redact'])).stdout) as Record<string, any>;
    expect(plain.identity.profile.traits.email).toBe('dora@example.com');
  });

  it('draws a table on request, ending with the corrections section', async () => {
    const result = await cli(['inspect', 'user', 'anon-alice', '--output', 'table']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^User alice \(asked for anon-alice, stitched to this user\)\n/);
    expect(result.stdout).toContain('  links: anon-alice → alice');
    expect(result.stdout).toMatch(/Session 1 [0-9a-f]{32}\n/);
    expect(result.stdout).toMatch(/ {4}09:05:00\.200 {2}product_viewed\s+product_id=p1/);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toBe('Corrections: none');
  });

  it('refuses unknown kinds and ids (injection attempts included) with exit 2 and one line', async () => {
    for (const [args, message] of [
      [['inspect', 'user', 'nobody'], 'no user "nobody"'],
      [['inspect', 'user', "x' OR '1'='1"], `no user "x' OR '1'='1"`],
      [['inspect', 'session', "' OR 1=1 --"], `no session "' OR 1=1 --"`],
      [['inspect', 'device', 'x'], 'cannot inspect "device"'],
    ] as const) {
      const result = await cli([...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
      noStack(result.stderr);
    }
  });
});
