import { describe, expect, it } from 'vitest';
import { DEFAULT_LABEL_RULES } from './defaults.js';
import { parseJourneyConfig } from './parse-journey-config.js';
import { evaluateRule, type LabelRule, type RuleEvent } from './rules.js';

const rule = (name: string): LabelRule => DEFAULT_LABEL_RULES.find((r) => r.name === name)!;
let clock = 0;
function ev(event: string, properties: Record<string, unknown> = {}, gapMs = 10_000): RuleEvent {
  clock += gapMs;
  return { messageId: `m${clock}`, event, eventTime: clock, properties };
}
const ids = (events: RuleEvent[]) => events.map((e) => e.messageId);

describe('default label rules, with near misses', () => {
  it('struggled_with_checkout: three form errors or failed submits after checkout_started', () => {
    const start = ev('checkout_started');
    const errors = [ev('form_error', { field: 'cvc' }), ev('form_submitted', { success: false }), ev('form_error', { field: 'expiry' })];
    const match = evaluateRule(rule('struggled_with_checkout'), [ev('page_viewed'), start, ...errors, ev('order_completed')]);
    expect(match?.evidence).toEqual(ids([start, ...errors]));
    // Near miss: two errors are not a struggle.
    expect(evaluateRule(rule('struggled_with_checkout'), [start, errors[0]!, errors[2]!, ev('form_submitted', { success: true })])).toBeNull();
    // Errors before checkout started do not count.
    expect(evaluateRule(rule('struggled_with_checkout'), [...errors, ev('checkout_started')])).toBeNull();
  });

  it('compared_products_before_adding: three distinct products viewed before adding one', () => {
    const views = [ev('product_viewed', { product_id: 'a' }), ev('product_viewed', { product_id: 'b' }), ev('product_viewed', { product_id: 'a' }), ev('product_viewed', { product_id: 'c' })];
    const added = ev('product_added', { product_id: 'c' });
    expect(evaluateRule(rule('compared_products_before_adding'), [...views, added])?.evidence).toEqual(ids([views[0]!, views[1]!, views[3]!, added]));
    // Near miss: the same product viewed three times is not a comparison.
    expect(evaluateRule(rule('compared_products_before_adding'), [views[0]!, views[2]!, views[0]!, added])).toBeNull();
    // Near miss: views after the add do not count, and no add means no label.
    expect(evaluateRule(rule('compared_products_before_adding'), [views[0]!, added, views[1]!, views[3]!])).toBeNull();
    expect(evaluateRule(rule('compared_products_before_adding'), views)).toBeNull();
  });

  it('dropped_off_during_onboarding: signup started, onboarding not completed', () => {
    const signup = ev('signup_started');
    expect(evaluateRule(rule('dropped_off_during_onboarding'), [signup, ev('onboarding_step_completed', { step: 1 })])?.evidence).toEqual([signup.messageId]);
    expect(evaluateRule(rule('dropped_off_during_onboarding'), [signup, ev('onboarding_completed')])).toBeNull();
    expect(evaluateRule(rule('dropped_off_during_onboarding'), [ev('page_viewed')])).toBeNull();
  });

  it('rage_clicked: four clicks on the same target within three seconds', () => {
    const burst = [0, 1, 2, 3].map(() => ev('button_clicked', { target: '#pay' }, 600));
    expect(evaluateRule(rule('rage_clicked'), [ev('page_viewed'), ...burst])?.evidence).toEqual(ids(burst));
    // Near miss: four clicks spread over more than three seconds.
    const slow = [0, 1, 2, 3].map(() => ev('button_clicked', { target: '#pay' }, 1_500));
    expect(evaluateRule(rule('rage_clicked'), slow)).toBeNull();
    // Near miss: four quick clicks on different targets.
    const varied = ['#a', '#b', '#a', '#b'].map((target) => ev('button_clicked', { target }, 300));
    expect(evaluateRule(rule('rage_clicked'), varied)).toBeNull();
  });
});

describe('user rules from config', () => {
  it('adds a rule without code and can replace a default', () => {
    const { config, errors } = parseJourneyConfig({
      labels: [
        { name: 'searched_then_left', version: 2, description: 'Searched and never viewed a product.', after: { event: 'search_performed' }, absent: { event: 'product_viewed' } },
        { name: 'rage_clicked', version: 2, description: 'Stricter.', count: { match: { event: 'button_clicked' }, at_least: 6, within: '2s', same: 'target' } },
        {
          name: 'checkout_sequence',
          version: 1,
          description: 'Added then checked out within 10 minutes.',
          sequence: { steps: [{ event: 'product_added' }, { event: 'checkout_started' }], within: '10m' },
        },
      ],
    });
    expect(errors).toEqual([]);
    expect(config.labels.map((r) => `${r.name}@${r.version}`)).toEqual([
      'struggled_with_checkout@1',
      'compared_products_before_adding@1',
      'dropped_off_during_onboarding@1',
      'rage_clicked@2',
      'searched_then_left@2',
      'checkout_sequence@1',
    ]);
    const sequence = config.labels.find((r) => r.name === 'checkout_sequence')!;
    expect(evaluateRule(sequence, [ev('product_added'), ev('page_viewed'), ev('checkout_started')])).not.toBeNull();
    expect(evaluateRule(sequence, [ev('product_added'), ev('checkout_started', {}, 11 * 60_000)])).toBeNull();
    expect(evaluateRule(sequence, [ev('checkout_started'), ev('product_added')])).toBeNull();
  });

  it('refuses a malformed rule, naming the rule and the problem', () => {
    const { errors } = parseJourneyConfig({
      labels: [
        { name: 'no_clauses', version: 1, description: 'Nothing to check.' },
        { name: 'bad_count', version: 1, description: 'x', count: { match: { event: 'form_error' }, at_least: 'three' } },
        { name: 'typo', version: 1, description: 'x', afterr: { event: 'x' } },
        { name: 'bad_window', version: 0, description: 'x', count: { match: { event: 'a' }, at_least: 2, within: 'soon' } },
      ],
    });
    expect(errors).toEqual([
      'label rule no_clauses: has no clause (after, before, count, distinct, absent, sequence); it would label every session',
      'label rule bad_count: count needs match and at_least (a positive integer)',
      'label rule typo: unknown clause "afterr" (known: name, version, description, after, before, count, distinct, absent, sequence)',
      'label rule typo: has no clause (after, before, count, distinct, absent, sequence); it would label every session',
      'label rule bad_window: version must be a positive integer',
      'label rule bad_window: count.within: "soon" is not a duration (e.g. 3s, 10m)',
    ]);
  });
});
