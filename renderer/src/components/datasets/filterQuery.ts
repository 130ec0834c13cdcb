// The Datasets view's filter and selected record in the route's query, so a reload, back/forward and a pasted link
// restore them: `/datasets/3?q=triangle&status=pending&severity=error&check=numbers&record=12`. Values the filter
// cannot take are left out (a hand-edited link reads as much of it as makes sense).
import type { LocationQuery, LocationQueryRaw } from 'vue-router'
import { PARAPHRASE_ORIGINS, PARAPHRASE_STATUSES, SEVERITIES } from '../../../../preload/constants'
import type { RecordFilter } from '../../../../preload/contract'
import { CHECK_LABELS } from './words'

/** One query value as a string: the first of a repeated key, undefined for a missing or empty one. */
function one(value: LocationQuery[string] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value
  return typeof text === 'string' && text.trim() !== '' ? text : undefined
}
const among = <T extends string>(choices: readonly T[], value: string | undefined): T | undefined =>
  choices.find((choice) => choice === value)
const flag = (value: string | undefined): true | undefined => (value === '1' || value === 'true' ? true : undefined)

/** The filter a route's query asks for. */
export function filterFromQuery(query: LocationQuery): RecordFilter {
  const check = one(query.check)
  const filter: RecordFilter = {
    search: one(query.q)?.trim().slice(0, 500),
    status: among([...PARAPHRASE_STATUSES, 'none'] as const, one(query.status)),
    severity: among(SEVERITIES, one(query.severity)),
    failedCheck: check !== undefined && Object.hasOwn(CHECK_LABELS, check) ? (check as RecordFilter['failedCheck']) : undefined,
    origin: among(PARAPHRASE_ORIGINS, one(query.origin)),
    split: one(query.split),
    duplicate: flag(one(query.duplicate)),
    noAnswer: flag(one(query.noAnswer)),
  }
  for (const key of Object.keys(filter) as (keyof RecordFilter)[]) if (filter[key] === undefined) delete filter[key]
  return filter
}

/** The query that stands for a filter (the fields the URL carries, in a fixed order). */
export function queryFromFilter(filter: RecordFilter): Record<string, string> {
  const query: Record<string, string> = {}
  if (filter.search) query.q = filter.search
  if (filter.status) query.status = filter.status
  if (filter.severity) query.severity = filter.severity
  if (filter.failedCheck) query.check = filter.failedCheck
  if (filter.origin) query.origin = filter.origin
  if (filter.split) query.split = filter.split
  if (filter.duplicate) query.duplicate = '1'
  if (filter.noAnswer) query.noAnswer = '1'
  return query
}

/** The record number (as the list shows it, from 1) a query selects, if any. */
export function recordFromQuery(query: LocationQuery): number | undefined {
  const text = one(query.record)
  const number = text !== undefined && /^\d+$/.test(text) ? Number(text) : NaN
  return Number.isSafeInteger(number) && number >= 1 ? number : undefined
}

/** The query for a filter and a selected record number (left out for none). */
export function datasetQuery(filter: RecordFilter, record?: number): LocationQueryRaw {
  return { ...queryFromFilter(filter), ...(record === undefined ? {} : { record: String(record) }) }
}

/** Whether two queries say the same (key order aside). */
export function sameQuery(a: LocationQuery | LocationQueryRaw, b: LocationQuery | LocationQueryRaw): boolean {
  const norm = (query: LocationQuery | LocationQueryRaw): string =>
    JSON.stringify(
      Object.entries(query)
        .filter(([, value]) => value !== undefined && value !== null)
        .map(([key, value]) => [key, Array.isArray(value) ? value.map(String) : String(value)])
        .sort(([x], [y]) => String(x).localeCompare(String(y))),
    )
  return norm(a) === norm(b)
}
