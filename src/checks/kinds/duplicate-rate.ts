import { rateKind } from './rate.js';

export const duplicateRate = rateKind('duplicate_rate', 'extra copies per accepted event (by: app_version for one value per version)');
