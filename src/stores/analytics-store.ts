import type { AnalyticsDamage, AnalyticsLifecycle } from './ports/analytics-admin.js';
import type { CheckMeasures } from './ports/check-measures.js';
import type { DerivedReader } from './ports/derived-reader.js';
import type { DerivedWrites } from './ports/derived-writes.js';
import type { PipelineFactsMirror, ReportAggregates } from './ports/report-aggregates.js';

export type { AnalyticsDamage, AnalyticsLifecycle } from './ports/analytics-admin.js';
export type { CheckFailureRow, CheckMeasures, PropertyProfile, SessionPlacementDay } from './ports/check-measures.js';
export type { DerivedReader, RecordFilter, SessionDetail, UserSessions } from './ports/derived-reader.js';
export { type DayCounts, type DayRebuild, DERIVED_TABLES, derivationOfDay, type DerivedTable, type DerivedWrites, type ReplaceResult, type UserDerivation, utcDay } from './ports/derived-writes.js';
export type { JourneyReport, PipelineFacts, PipelineFactsMirror, ReportAggregates, SessionShape } from './ports/report-aggregates.js';

/**
 * What ClickHouse holds: derived sessions, placed events, labels/flags with evidence and
 * funnel outcomes, partitioned by day and ordered by user and time. One SQL source serves
 * chdb (embedded) and a ClickHouse server.
 *
 * One port per concern (src/stores/ports/); AnalyticsStore is all of them. A caller that needs
 * one or two concerns takes just those (e.g. a check measure takes `CheckMeasures`, reprocess
 * `DerivedWrites`).
 */
export interface AnalyticsStore extends AnalyticsLifecycle, DerivedWrites, DerivedReader, ReportAggregates, PipelineFactsMirror, CheckMeasures {}

/** What opening any analytics engine gives: the store, and the damage questions every engine answers (doctor, repair). */
export type OpenedAnalyticsStore = AnalyticsStore & AnalyticsDamage;
