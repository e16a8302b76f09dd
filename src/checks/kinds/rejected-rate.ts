import { rateKind } from './rate.js';

export const rejectedRate = rateKind('rejected_rate', 'share of received lines rejected (by: app_version for one value per version)');
