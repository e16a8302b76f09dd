import type { FunnelDefinition } from './funnels.js';
import type { LabelRule } from './rules.js';

const on = (event: string | string[], where: Record<string, string | number | boolean | null> = {}) => ({ events: Array.isArray(event) ? event : [event], where });

/** The labels journeyctl ships; users add or override rules in the config file without code. */
export const DEFAULT_LABEL_RULES: LabelRule[] = [
  {
    name: 'struggled_with_checkout',
    version: 1,
    description: 'Three or more form errors or failed submits after starting checkout.',
    after: [on('checkout_started')],
    count: { match: [on('form_error'), on('form_submitted', { success: false })], atLeast: 3 },
  },
  {
    name: 'compared_products_before_adding',
    version: 1,
    description: 'Viewed three or more different products before adding one to the cart.',
    before: [on('product_added')],
    distinct: { match: [on('product_viewed')], property: 'product_id', atLeast: 3 },
  },
  {
    name: 'dropped_off_during_onboarding',
    version: 1,
    description: 'Started signing up but did not complete onboarding in the session.',
    after: [on('signup_started')],
    absent: [on('onboarding_completed')],
  },
  {
    name: 'rage_clicked',
    version: 1,
    description: 'Clicked the same target four or more times within three seconds.',
    count: { match: [on('button_clicked')], atLeast: 4, withinMs: 3_000, same: 'target' },
  },
];

export const DEFAULT_FUNNELS: FunnelDefinition[] = [
  { name: 'purchase', windowMs: 24 * 3_600_000, steps: [[on('product_viewed')], [on('product_added')], [on('checkout_started')], [on('order_completed')]] },
  { name: 'onboarding', windowMs: 24 * 3_600_000, steps: [[on('signup_started')], [on('onboarding_step_completed')], [on('onboarding_completed')]] },
];
