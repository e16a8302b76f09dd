import type { PropertyType, TrackingPlan } from '../config/config.js';
import { accept, reject, type Outcome } from './outcome.js';

/** RudderStack-style tracking-plan violations: Unplanned-Event, Required-Missing, Datatype-Mismatch. */
export function createCheckTrackingPlan(plan: TrackingPlan | null) {
  return function checkTrackingPlan(event: string, properties: Record<string, unknown>): Outcome<true> {
    if (plan === null) return accept(true);
    const planned = plan.events[event];
    if (planned === undefined) {
      return plan.allowUnplanned ? accept(true) : reject('unplanned_event', `event "${event}" is not in the tracking plan`);
    }
    for (const name of planned.required) {
      if (properties[name] === undefined || properties[name] === null) {
        return reject('required_missing', `event "${event}" requires property "${name}"`);
      }
    }
    for (const [name, allowed] of Object.entries(planned.properties)) {
      const value = properties[name];
      if (value === undefined) continue;
      const actual = typeOfProperty(value);
      if (!allowed.includes(actual) && !(actual === 'integer' && allowed.includes('number'))) {
        return reject('datatype_mismatch', `event "${event}" property "${name}" is ${actual}, plan says ${allowed.join('|')}`);
      }
    }
    return accept(true);
  };
}

function typeOfProperty(value: unknown): PropertyType {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  if (typeof value === 'string' || typeof value === 'boolean' || typeof value === 'object') return typeof value as PropertyType;
  return 'string';
}
