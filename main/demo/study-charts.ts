// A study's charts, drawn by ECharts on the server as SVG: per group of runs, the mean over seeds as a line and the
// seeds' minimum to maximum as a band around it.
import * as echarts from 'echarts'

export interface BandPoint {
  step: number
  mean: number
  min: number
  max: number
}

export interface BandSeries {
  label: string
  colour: string
  points: BandPoint[]
  /** Drawn dashed: an ablation beside the mode it changes. */
  dashed?: boolean
}

export interface BandChart {
  title: string
  yName: string
  /** Values are shares, shown as percentages on a 0-100% axis. */
  share: boolean
  /** The last step, the x axis's end. */
  steps: number
  series: BandSeries[]
}

const WIDTH = 760
const HEIGHT = 420

/** The chart as an SVG document. */
export function bandChartSvg(chart: BandChart): string {
  const instance = echarts.init(null, null, { renderer: 'svg', ssr: true, width: WIDTH, height: HEIGHT })
  try {
    // Points logged at a few steps only (validations) get a marker each; per-step series are plain lines.
    const sparse = (s: BandSeries): boolean => s.points.length <= Math.max(12, chart.steps / 4)
    instance.setOption({
      animation: false,
      backgroundColor: '#ffffff',
      title: { text: chart.title, left: 'center', top: 8, textStyle: { fontSize: 15 } },
      legend: { top: 36, data: chart.series.map((s) => s.label), textStyle: { fontSize: 11 } },
      grid: { left: 64, right: 28, top: 96, bottom: 52 },
      xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 30, min: 0, max: chart.steps },
      yAxis: {
        type: 'value',
        name: chart.yName,
        ...(chart.share
          ? { min: 0, max: 1, axisLabel: { formatter: (v: number) => `${Math.round(v * 100)}%` } }
          : { scale: true }),
      },
      series: chart.series.flatMap((s, index) => {
        const band = `band-${index}`
        return [
          // The band: the minimum (an invisible line), and the maximum's excess over it stacked on top, filled.
          {
            name: `${s.label} (min)`,
            type: 'line',
            stack: band,
            // Stack whatever the signs (the entropy mode's reward is negative): the band is [min, max] as drawn.
            stackStrategy: 'all',
            data: s.points.map((p) => [p.step, p.min]),
            symbol: 'none',
            lineStyle: { opacity: 0 },
            silent: true,
          },
          {
            name: `${s.label} (range)`,
            type: 'line',
            stack: band,
            stackStrategy: 'all',
            data: s.points.map((p) => [p.step, p.max - p.min]),
            symbol: 'none',
            lineStyle: { opacity: 0 },
            areaStyle: { color: s.colour, opacity: 0.15 },
            silent: true,
          },
          {
            name: s.label,
            type: 'line',
            data: s.points.map((p) => [p.step, p.mean]),
            color: s.colour,
            symbol: sparse(s) ? 'circle' : 'none',
            symbolSize: 6,
            lineStyle: { width: 2, type: s.dashed ? 'dashed' : 'solid' },
          },
        ]
      }),
    })
    return instance.renderToSVGString()
  } finally {
    instance.dispose()
  }
}
