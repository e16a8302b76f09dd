import { AnnotationQueryBuilder, CustomVariableBuilder, DashboardBuilder, type Dashboard, QueryVariableBuilder, VariableRefresh, VariableSort } from '@grafana/grafana-foundation-sdk/dashboard';
import { StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import { PanelBuilder as BarChartBuilder } from '@grafana/grafana-foundation-sdk/barchart';
import { PanelBuilder as TableBuilder } from '@grafana/grafana-foundation-sdk/table';
import { PanelBuilder as TimeSeriesBuilder } from '@grafana/grafana-foundation-sdk/timeseries';
import * as journeys from '../stores/sql/definitions.js';
import type { QueryContext, QueryDefinition } from '../stores/sql/definitions.js';
import { ALL_VALUE, clickHouseGrafanaDialect } from '../stores/sql/dialect.js';
import * as pipeline from '../stores/sql/pipeline.js';
import { ClickHouseQueryBuilder } from './clickhouse-query.js';

export const DATASOURCE = { type: 'grafana-clickhouse-datasource', uid: 'journeyctl-clickhouse' } as const;

export interface DashboardOptions {
  /** The analytics database the panels read (the datasource's defaultDatabase too). */
  database: string;
  /** Configured funnels' step event names, by funnel. */
  funnelSteps: Record<string, readonly string[]>;
}

type Visual = 'timeseries' | 'barchart' | 'table';

/** One panel: a shared query definition and how it is drawn. */
export interface PanelSpec {
  title: string;
  description?: string;
  query: QueryDefinition;
  visual: Visual;
  unit?: string;
  /** barchart: the column on the x axis. */
  xField?: string;
  stacked?: boolean;
}

interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  variables: Array<'app_version' | 'funnel' | 'include_flagged'>;
  /** Release bursts as annotation regions. */
  burstRegions?: boolean;
  panels: PanelSpec[];
}

export const DASHBOARD_SPECS: readonly DashboardSpec[] = [
  {
    uid: 'journeyctl-pipeline-health',
    title: 'journeyctl · Pipeline health',
    description: 'What arrived and what was refused, by received time (published from the raw store at the end of each run).',
    variables: ['app_version'],
    burstRegions: true,
    panels: [
      { title: 'Lines received per minute', query: pipeline.linesPerMinute, visual: 'timeseries', unit: 'short' },
      { title: 'Accepted vs rejected by reason', query: pipeline.linesByOutcome, visual: 'timeseries', stacked: true, unit: 'short' },
      {
        title: 'Duplicate and late rates',
        description: 'Extra distinct copies ÷ accepted; late (pipeline.late_after) ÷ accepted.',
        query: pipeline.duplicateAndLateRates,
        visual: 'timeseries',
        unit: 'percentunit',
      },
      { title: 'Rejected share per app version', description: 'Release bursts are shown as regions.', query: pipeline.rejectedShareByVersion, visual: 'timeseries', unit: 'percentunit' },
      { title: 'Rejected lines by reason', query: pipeline.rejectedByReason, visual: 'barchart', xField: 'reason' },
    ],
  },
  {
    uid: 'journeyctl-journeys',
    title: 'journeyctl · Journeys',
    description: 'Funnels, outcomes and labels of derived sessions (flagged sessions left out unless included).',
    variables: ['funnel', 'app_version', 'include_flagged'],
    panels: [
      { title: 'Funnel step conversion', description: 'Sessions reaching at least each step, steps named by event.', query: journeys.funnelSteps, visual: 'barchart', xField: 'step_name' },
      { title: 'Funnel outcomes per day', query: journeys.funnelOutcomesPerDay, visual: 'timeseries', stacked: true },
      { title: 'Label shares over time', query: journeys.labelSharesOverTime, visual: 'timeseries', unit: 'percentunit' },
      { title: 'Label shares', query: journeys.labelShares, visual: 'barchart', xField: 'label' },
    ],
  },
  {
    uid: 'journeyctl-sessions',
    title: 'journeyctl · Sessions',
    description: 'How many sessions, how long, how busy, and which are flagged.',
    variables: ['app_version'],
    panels: [
      { title: 'Sessions per day', query: journeys.sessionsPerDay, visual: 'barchart', xField: 'day' },
      { title: 'Sessions over time', query: journeys.sessionsOverTime, visual: 'timeseries' },
      { title: 'Session length', query: journeys.sessionLengths, visual: 'barchart', xField: 'length' },
      { title: 'Events per session', query: journeys.eventsPerSession, visual: 'barchart', xField: 'events' },
      { title: 'Flagged share by flag', query: journeys.flagShares, visual: 'barchart', xField: 'flag' },
      { title: 'Flagged share over time', query: journeys.flaggedShareOverTime, visual: 'timeseries', unit: 'percentunit' },
    ],
  },
  {
    uid: 'journeyctl-stewardship',
    title: 'journeyctl · Stewardship',
    description: 'Corrections and manual flags (published from the raw store at the end of each run).',
    variables: [],
    panels: [
      { title: 'Corrections by kind', query: pipeline.correctionsByKind, visual: 'timeseries', stacked: true },
      { title: 'Corrections by actor', query: pipeline.correctionsByActor, visual: 'timeseries', stacked: true },
      { title: 'Manual flags', query: pipeline.manualFlags, visual: 'timeseries', stacked: true },
      { title: 'Latest corrections', query: pipeline.recentCorrections, visual: 'table' },
    ],
  },
];

function variable(name: DashboardSpec['variables'][number], options: DashboardOptions) {
  const all = { text: 'All', value: '$__all' };
  if (name === 'include_flagged') {
    return new CustomVariableBuilder('include_flagged').label('Flagged sessions').values('Left out : 0,Included : 1').current({ text: 'Left out', value: '0' });
  }
  const sql =
    name === 'funnel'
      ? `SELECT DISTINCT funnel FROM ${options.database}.funnel_outcomes ORDER BY funnel`
      : `SELECT DISTINCT v FROM (SELECT arrayJoin(app_versions) AS v FROM ${options.database}.sessions UNION ALL SELECT app_version AS v FROM ${options.database}.pipeline_minutes) WHERE v != '' ORDER BY v`;
  return new QueryVariableBuilder(name)
    .label(name === 'funnel' ? 'Funnel' : 'App version')
    .datasource(DATASOURCE)
    .query(sql)
    .definition(sql)
    .refresh(VariableRefresh.OnTimeRangeChanged)
    .sort(VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .allValue(ALL_VALUE)
    .current(all);
}

function panel(spec: PanelSpec, sql: string, id: number, gridPos: { x: number; y: number; w: number; h: number }) {
  const query = new ClickHouseQueryBuilder(sql).refId('A').datasource(DATASOURCE);
  const common = <T extends { title(t: string): T; id(n: number): T; datasource(d: typeof DATASOURCE): T; gridPos(g: typeof gridPos): T; description(d: string): T }>(builder: T) =>
    builder
      .id(id)
      .title(spec.title)
      .datasource(DATASOURCE)
      .gridPos(gridPos)
      .description(spec.description ?? spec.query.description);
  if (spec.visual === 'timeseries') {
    const builder = common(new TimeSeriesBuilder()).withTarget(query.timeSeries());
    if (spec.unit) builder.unit(spec.unit);
    if (spec.stacked) builder.stacking(new StackingConfigBuilder().mode(StackingMode.Normal).group('A'));
    return builder;
  }
  if (spec.visual === 'barchart') {
    const builder = common(new BarChartBuilder()).withTarget(query.table());
    if (spec.xField) builder.xField(spec.xField);
    if (spec.unit) builder.unit(spec.unit);
    return builder;
  }
  return common(new TableBuilder()).withTarget(query.table());
}

export interface BuiltDashboard {
  uid: string;
  title: string;
  dashboard: Dashboard;
  /** Each panel with the SQL it runs (what the tests execute). */
  panels: Array<{ id: number; title: string; query: QueryDefinition; sql: string }>;
}

/** The dashboards, built with the foundation SDK's typed builders. Panel ids are unique across them. */
export function buildDashboards(options: DashboardOptions): BuiltDashboard[] {
  const dialect = clickHouseGrafanaDialect(options.database);
  const context: QueryContext = { funnelSteps: options.funnelSteps };
  let nextId = 1;
  return DASHBOARD_SPECS.map((spec) => {
    const builder = new DashboardBuilder(spec.title).uid(spec.uid).description(spec.description).tags(['journeyctl']).timezone('utc').time({ from: 'now-7d', to: 'now' }).refresh('1m').readonly();
    for (const name of spec.variables) builder.withVariable(variable(name, options));
    if (spec.burstRegions) {
      const sql = pipeline.releaseBurstRegions.sql(dialect, context);
      builder.annotation(new AnnotationQueryBuilder().name('Release bursts').datasource(DATASOURCE).enable(true).iconColor('red').target(new ClickHouseQueryBuilder(sql).refId('Anno').table()));
    }
    const panels: BuiltDashboard['panels'] = [];
    spec.panels.forEach((panelSpec, index) => {
      const id = nextId++;
      const sql = panelSpec.query.sql(dialect, context);
      builder.withPanel(panel(panelSpec, sql, id, { x: (index % 2) * 12, y: Math.floor(index / 2) * 9, w: 12, h: 9 }));
      panels.push({ id, title: panelSpec.title, query: panelSpec.query, sql });
    });
    if (spec.burstRegions) panels.push({ id: 0, title: 'Release bursts (annotation)', query: pipeline.releaseBurstRegions, sql: pipeline.releaseBurstRegions.sql(dialect, context) });
    return { uid: spec.uid, title: spec.title, dashboard: builder.build(), panels };
  });
}
