// One Compare panel as an ECharts option: per run (or group) the smoothed line over its faint raw line (a sparse
// series, such as held-out accuracy, raw with a marker at each point), a min-max band for groups, and collapse
// markers as dashed vertical lines in the run's colour.
import type { ChartSeries, XAxis } from '../../../preload/contract'
import type { ChartOption } from './echarts'
import { formatValue, formatX, isShare, X_LABELS } from './format'

export interface PanelMarker {
  /** Where it sits on the current x axis. */
  x: number
  step: number
  run: number
  runName: string
  rule: string
  message: string
}

export interface LinePanelInput {
  key: string
  series: readonly ChartSeries[]
  x: XAxis
  smoothing: number
  /** The same range on every panel, so zooming one zooms the others to the same x values. */
  xRange: readonly [number, number] | null
  colourOf: (series: ChartSeries) => string
  /** Series switched off in the shared legend. */
  hidden: (series: ChartSeries) => boolean
  markers: readonly PanelMarker[]
  /** A last tooltip line saying what a click does. */
  clickHint?: string
}

export interface LinePanel {
  option: ChartOption
  /** Drawn line series (raw, smoothed, band edges) and their points: what the benchmark redraws from memory. */
  drawnSeries: number
  drawnPoints: number
  /** Lines drawn with a marker at every point. */
  markedSeries: number
}

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

interface AxisParam {
  seriesId?: string
  seriesName?: string
  color?: unknown
  value?: unknown
  axisValue?: unknown
}

const MAX_TOOLTIP_ROWS = 16

/** Whether a series is drawn smoothed: dense series while smoothing is on; sparse ones (validation) never. */
export const isSmoothed = (s: ChartSeries, smoothing: number): boolean => smoothing > 0 && !s.sparse

export function linePanel(input: LinePanelInput): LinePanel {
  const { key, x, smoothing } = input
  const share = isShare(key)
  const smoothedLabels = new Set<string>()
  const series: NonNullable<ChartOption['series']> = []
  let drawnSeries = 0
  let drawnPoints = 0
  let markedSeries = 0
  const selected: Record<string, boolean> = {}

  for (const s of input.series) {
    const color = input.colourOf(s)
    selected[s.label] = !input.hidden(s)
    if (s.band && s.band.length > 0) {
      // The stacked-area trick: an invisible lower edge, then the band's height stacked on it and filled.
      const stack = `band:${s.label}`
      series.push(
        {
          type: 'line',
          id: `band-lo:${s.label}`,
          name: s.label,
          data: s.band.map(([bx, lo]) => [bx, lo]),
          stack,
          symbol: 'none',
          lineStyle: { opacity: 0 },
          silent: true,
          z: 1,
        },
        {
          type: 'line',
          id: `band-hi:${s.label}`,
          name: s.label,
          data: s.band.map(([bx, lo, hi]) => [bx, hi - lo]),
          stack,
          symbol: 'none',
          lineStyle: { opacity: 0 },
          areaStyle: { color, opacity: 0.16 },
          silent: true,
          z: 1,
        },
      )
      drawnSeries += 2
      drawnPoints += 2 * s.band.length
    }
    const smoothed = isSmoothed(s, smoothing)
    if (smoothed) {
      smoothedLabels.add(s.label)
      series.push({
        type: 'line',
        id: `raw:${s.label}`,
        name: s.label,
        data: s.raw as [number, number | null][],
        symbol: 'none',
        sampling: 'lttb',
        lineStyle: { width: 1, color, opacity: 0.22 },
        itemStyle: { color },
        silent: true,
        z: 2,
      })
      drawnSeries += 1
      drawnPoints += s.raw.length
    }
    const markers = input.markers.filter((m) => s.runs.includes(m.run))
    const showSymbol = s.sparse || s.smoothed.length <= 40
    if (showSymbol) markedSeries += 1
    series.push({
      type: 'line',
      id: `main:${s.label}`,
      name: s.label,
      data: (smoothed ? s.smoothed : s.raw) as [number, number | null][],
      showSymbol,
      symbolSize: s.sparse ? 6 : 5,
      sampling: 'lttb',
      lineStyle: { width: 1.8, color },
      itemStyle: { color },
      emphasis: { focus: 'series' },
      z: 3,
      markLine:
        markers.length === 0
          ? undefined
          : {
              symbol: ['none', 'none'],
              animation: false,
              tooltip: {
                trigger: 'item',
                formatter: (p: unknown) => {
                  const m = markers[(p as { dataIndex: number }).dataIndex]
                  return m
                    ? `<b>${escapeHtml(m.runName)}</b> · step ${m.step}<br/><b>${escapeHtml(m.rule)}</b><br/>` +
                        `<span style="white-space:normal">${escapeHtml(m.message)}</span>`
                    : ''
                },
                extraCssText: 'max-width: 360px; white-space: normal;',
              },
              data: markers.map((m) => ({
                xAxis: m.x,
                name: m.rule,
                lineStyle: { color, type: 'dashed', width: 1.4 },
                label: { formatter: '⚠', position: 'end', color, fontSize: 11, distance: 2 },
              })),
            },
    })
    drawnSeries += 1
    drawnPoints += s.smoothed.length
  }

  const formatY = (v: number): string => (share ? `${+(v * 100).toFixed(1)}%` : formatValue(v))

  const option: ChartOption = {
    animation: false,
    grid: { left: 8, right: 40, top: 14, bottom: 46, containLabel: true },
    // Drawn once above all panels (CompareView); the hidden legend still switches series off.
    legend: { show: false, selected },
    tooltip: {
      trigger: 'axis',
      confine: true,
      axisPointer: { type: 'line', snap: false, lineStyle: { color: '#98a2b3' } },
      formatter: (raw: unknown) => tooltipHtml(raw as AxisParam[], x, smoothedLabels, formatY, input.clickHint),
    },
    xAxis: {
      type: 'value',
      name: X_LABELS[x],
      nameLocation: 'end',
      nameGap: 6,
      nameTextStyle: { color: '#98a2b3', fontSize: 10 },
      min: input.xRange?.[0],
      max: input.xRange?.[1],
      // Steps are whole numbers: ticks between them would print the same rounded label twice (0 0 0 1 1 1).
      minInterval: x === 'step' ? 1 : undefined,
      axisLabel: { formatter: (v: number) => formatX(x, v), color: '#667085', fontSize: 10, hideOverlap: true },
      axisLine: { lineStyle: { color: '#d0d5dd' } },
      splitLine: { show: false },
    },
    yAxis: {
      type: 'value',
      scale: true,
      axisLabel: { formatter: formatY, color: '#667085', fontSize: 10 },
      splitLine: { lineStyle: { color: '#eef0f3' } },
    },
    dataZoom: [
      { type: 'inside', xAxisIndex: 0, filterMode: 'none' },
      {
        type: 'slider',
        xAxisIndex: 0,
        filterMode: 'none',
        height: 14,
        bottom: 6,
        showDetail: false,
        brushSelect: false,
        borderColor: '#e3e6ec',
        fillerColor: 'rgba(59, 91, 219, 0.12)',
        dataBackground: { lineStyle: { opacity: 0 }, areaStyle: { opacity: 0 } },
      },
    ],
    series,
  }
  return { option, drawnSeries, drawnPoints, markedSeries }
}

/** One row per series: the raw value in bold, the smoothed one beside it where the series is smoothed. */
function tooltipHtml(
  params: AxisParam[],
  x: XAxis,
  smoothedLabels: ReadonlySet<string>,
  formatY: (v: number) => string,
  clickHint: string | undefined,
): string {
  if (params.length === 0) return ''
  const at = Number(params[0]!.axisValue)
  const byLabel = new Map<string, { colour: string; main?: number | null; raw?: number | null; lo?: number; hi?: number }>()
  for (const p of params) {
    const [kind] = (p.seriesId ?? '').split(':', 1)
    const label = p.seriesName ?? ''
    const y = Array.isArray(p.value) ? (p.value[1] as number | null) : null
    const entry = byLabel.get(label) ?? { colour: typeof p.color === 'string' ? p.color : '#667085' }
    if (kind === 'main') entry.main = y
    else if (kind === 'raw') entry.raw = y
    else if (kind === 'band-lo' && y !== null) entry.lo = y
    else if (kind === 'band-hi' && y !== null) entry.hi = y
    if (kind === 'main' && typeof p.color === 'string') entry.colour = p.color
    byLabel.set(label, entry)
  }
  const rawOf = (label: string, e: { main?: number | null; raw?: number | null }): number | null =>
    (smoothedLabels.has(label) ? e.raw : e.main) ?? null
  const rows = [...byLabel.entries()]
    .filter(([, e]) => e.main !== undefined)
    .sort((a, b) => (rawOf(b[0], b[1]) ?? -Infinity) - (rawOf(a[0], a[1]) ?? -Infinity))
  const lines = rows.slice(0, MAX_TOOLTIP_ROWS).map(([label, e]) => {
    const raw = rawOf(label, e)
    const value = raw === null ? '–' : formatY(raw)
    const extra: string[] = []
    if (smoothedLabels.has(label) && e.main !== undefined && e.main !== null) extra.push(`smoothed ${formatY(e.main)}`)
    if (e.lo !== undefined && e.hi !== undefined && e.hi > 0) extra.push(`[${formatY(e.lo)}, ${formatY(e.lo + e.hi)}]`)
    return (
      `<div style="display:flex;gap:8px;align-items:center"><span style="width:10px;height:3px;background:${e.colour};display:inline-block"></span>` +
      `<span style="flex:1">${escapeHtml(label)}</span><b>${value}</b>` +
      (extra.length ? `<span style="color:#98a2b3">${extra.join(' ')}</span>` : '') +
      '</div>'
    )
  })
  if (rows.length > MAX_TOOLTIP_ROWS) lines.push(`<div style="color:#98a2b3">… ${rows.length - MAX_TOOLTIP_ROWS} more</div>`)
  if (clickHint) lines.push(`<div style="color:#98a2b3;margin-top:2px">${escapeHtml(clickHint)}</div>`)
  return `<div style="font-size:12px;min-width:180px"><div style="color:#667085;margin-bottom:2px">${X_LABELS[x]} ${formatX(x, at)}</div>${lines.join('')}</div>`
}

/** A point of a drawn line: its run (a group's first run) and step. */
export interface PanelPoint {
  run: number
  step: number
  label: string
}

/**
 * The point a click at `pixel` means: on each shown line the point nearest in x (the one the tooltip names), then of
 * those the nearest to the click, so several runs at one step are told apart by height. Null when nothing is drawn.
 */
export function pointAt(
  series: readonly ChartSeries[],
  smoothing: number,
  hidden: (series: ChartSeries) => boolean,
  pixel: readonly [number, number],
  toPixel: (point: [number, number]) => [number, number] | null,
): PanelPoint | null {
  let best: { point: PanelPoint; distance: number } | null = null
  for (const s of series) {
    if (hidden(s) || s.runs.length === 0) continue
    const drawn = isSmoothed(s, smoothing) ? s.smoothed : s.raw
    let nearest: { index: number; at: [number, number] } | null = null
    drawn.forEach(([px, py], index) => {
      const at = py === null ? null : toPixel([px, py])
      if (at && (!nearest || Math.abs(at[0] - pixel[0]) < Math.abs(nearest.at[0] - pixel[0]))) nearest = { index, at }
    })
    if (!nearest) continue
    const { index, at } = nearest as { index: number; at: [number, number] }
    const step = s.steps[index]
    if (step === undefined) continue
    const distance = Math.hypot(at[0] - pixel[0], at[1] - pixel[1])
    if (!best || distance < best.distance) best = { point: { run: s.runs[0]!, step, label: s.label }, distance }
  }
  return best?.point ?? null
}

/** The panel's data as CSV rows: one per series and point, raw and smoothed (and the band for groups). */
export function panelCsvRows(series: readonly ChartSeries[]): (string | number | null)[][] {
  const rows: (string | number | null)[][] = []
  for (const s of series) {
    const band = new Map((s.band ?? []).map(([bx, lo, hi]) => [bx, [lo, hi] as const]))
    const smoothed = new Map(s.smoothed.map(([sx, y]) => [sx, y]))
    for (const [rx, y] of s.raw) {
      const range = band.get(rx)
      rows.push([s.label, rx, y, smoothed.get(rx) ?? null, range?.[0] ?? null, range?.[1] ?? null])
    }
  }
  return rows
}
