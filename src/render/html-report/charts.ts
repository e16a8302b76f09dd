import * as echarts from 'echarts';

/** Chart options without animation, rendered to an SVG string in Node (echarts' SSR renderer, no DOM). */
export function renderSvgChart(option: echarts.EChartsOption, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, textStyle: { fontFamily: 'system-ui, sans-serif' }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const PALETTE = ['#3b6fb6', '#e07b39', '#4c9a6a', '#b5485d', '#7c5cb0', '#8c8c8c'];

/** Horizontal bars, one per category (top to bottom in the given order). */
export function barChart(categories: readonly string[], values: readonly number[], options: { width?: number; colors?: readonly string[]; percent?: boolean } = {}): string {
  const height = Math.max(90, 34 * categories.length + 40);
  return renderSvgChart(
    {
      color: [PALETTE[0]!],
      grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
      xAxis: { type: 'value', axisLabel: options.percent ? { formatter: (v: number) => `${Math.round(v * 100)}%` } : {} },
      yAxis: { type: 'category', inverse: true, data: [...categories] },
      series: [
        {
          type: 'bar',
          data: values.map((value, i) => ({ value, itemStyle: options.colors?.[i] ? { color: options.colors[i] } : undefined })),
          label: { show: true, position: 'right', formatter: options.percent ? ({ value }: { value: unknown }) => `${(Number(value) * 100).toFixed(1)}%` : undefined },
        },
      ],
    } as echarts.EChartsOption,
    options.width ?? 520,
    height,
  );
}

/** Vertical bars over days, stacked series. */
export function columnChart(categories: readonly string[], series: ReadonlyArray<{ name: string; values: readonly number[] }>, width = 520): string {
  return renderSvgChart(
    {
      color: PALETTE,
      legend: { top: 0 },
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: [...categories] },
      yAxis: { type: 'value' },
      series: series.map((s) => ({ type: 'bar', name: s.name, stack: 'total', data: [...s.values] })),
    },
    width,
    260,
  );
}
