import { rateKind } from './rate.js';

export const lateRate = rateKind('late_rate', 'share of accepted events received late (by: app_version for one value per version)');
