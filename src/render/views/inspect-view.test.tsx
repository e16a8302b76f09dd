import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { type Inspection, InspectView, renderInspect } from './inspect-view.js';

const session = {
  session: {
    session_id: 's-1',
    user_id: 'alice',
    anonymous_ids: ['anon-a'],
    started_at: '2026-01-05T09:00:00.000Z',
    ended_at: '2026-01-05T09:30:00.000Z',
    duration_ms: 1_800_000,
    event_count: 2,
    first_event: 'checkout_started',
    last_event: 'form_error',
    app_versions: ['2.3.0'],
    flags: ['bot_like'],
    labels: ['struggled_with_checkout'],
  },
  labels: [{ kind: 'label', name: 'struggled_with_checkout', rule_version: 1, detail: 'after checkout_started, 3 × form_error' }],
  flags: [{ kind: 'flag', name: 'bot_like', rule_version: 2, detail: 'median gap 200 ms over 40 events' }],
  funnels: [{ scope: 'session', funnel: 'purchase', outcome: 'dropped_after_step_3' }],
  events: [
    { event_time: '2026-01-05T09:00:00.000Z', event: 'checkout_started', message_id: 'm1', properties: { cart_id: 'c1' } },
    { event_time: '2026-01-05T09:30:00.000Z', event: 'form_error', message_id: 'm2', properties: { email: '[redacted]' } },
  ],
};
const identity = {
  user_id: 'alice',
  profile: {
    user_id: 'alice',
    identified: true,
    anonymous_ids: ['anon-a'],
    traits: { plan: 'pro' },
    first_seen: '2026-01-05T09:00:00.000Z',
    last_seen: '2026-01-05T09:30:00.000Z',
    event_count: 3,
    session_count: 1,
  },
  ids: ['alice', 'anon-a'],
  links: [{ from: 'anon-a', to: 'alice' }],
};
const user: Inspection = {
  kind: 'user',
  requested_id: 'anon-a',
  user_id: 'alice',
  identity,
  funnels: [{ scope: 'user', funnel: 'purchase', outcome: 'converted' }],
  sessions: [session],
  corrections: [],
};

describe('the inspect view (ink)', () => {
  it('shows a user: who they are, identity links, funnels, then each session with labels, flags, funnels and events', () => {
    const frame = render(<InspectView inspection={user} width={100} color={false} />).lastFrame()!;
    const lines = frame.split('\n');
    expect(lines[0]).toBe('User alice (asked for anon-a, stitched to this user)');
    expect(frame).toContain('  identified · 3 events · 1 session\n  first seen 2026-01-05 09:00:00.000 · last seen 2026-01-05 09:30:00.000\n');
    expect(frame).toContain('  ids: alice, anon-a');
    expect(frame).toContain('  links: anon-a → alice');
    expect(frame).toContain('  traits: plan=pro');
    expect(frame).toContain('  funnels across sessions: purchase converted');
    expect(frame).toContain('Session 1 s-1');
    expect(frame).toContain('  2026-01-05 09:00:00.000 → 2026-01-05 09:30:00.000 (30.0 min) · 2 events · app 2.3.0');
    expect(frame).toContain('  label struggled_with_checkout v1: after checkout_started, 3 × form_error');
    expect(frame).toContain('  flag bot_like v2: median gap 200 ms over 40 events');
    expect(frame).toContain('  funnels: purchase dropped after step 3');
    expect(frame).toMatch(/ {4}09:00:00\.000 {2}checkout_started\s+cart_id=c1/);
    expect(frame).toMatch(/ {4}09:30:00\.000 {2}form_error\s+email=\[redacted\]/);
    // The corrections engineer fills this section; it is always there.
    expect(lines.at(-1)).toBe('Corrections: none');
  });

  it('shows a session with its user and the corrections applied to it', () => {
    const inspection: Inspection = {
      kind: 'session',
      ...session,
      identity,
      corrections: [{ id: 'c3', at: '2026-01-06T10:00:00.000Z', actor: 'oncall', description: 'split session s-1 at m2', reason: 'two visits', ticket: 'INC-7', reverted_by: 'c4' }],
    };
    const frame = renderInspect(inspection, { width: 120, color: false });
    expect(frame).toContain('Session s-1 of user alice');
    expect(frame).toContain('  ids: alice, anon-a');
    expect(frame).toContain('Corrections:');
    expect(frame).toContain('  c3 2026-01-06T10:00:00.000Z by oncall: split session s-1 at m2 — two visits [INC-7] (reverted by c4)');
    expect(frame).not.toMatch(/\u001b\[/);
  });

  it('lists at most 40 events per session on a terminal and says how many more there are', () => {
    const many = { ...session, events: Array.from({ length: 45 }, (_, i) => ({ event_time: '2026-01-05T09:00:00.000Z', event: 'page_viewed', message_id: `m${i}`, properties: {} })) };
    const frame = renderInspect({ ...user, sessions: [many] }, { width: 100, color: false });
    expect(frame.match(/page_viewed/g)).toHaveLength(40);
    expect(frame).toContain('… 5 more events (--output json has them all)');
  });
});

describe('the inspect view: identity conflicts', () => {
  it('says which anonymous id carries too many user ids and whom it is stitched to', () => {
    const conflicted: Inspection = { ...user, identity: { ...identity, conflicts: [{ anonymous_id: 'anon-a', linked_to: 'alice', user_ids: ['alice', 'bob', 'carl', 'dora'], max_users: 3 }] } };
    expect(renderInspect(conflicted, { width: 200, color: false })).toContain('identity conflict: anon-a carries 4 user ids (more than 3); stitched to alice only, not to bob, carl, dora');
  });
});
