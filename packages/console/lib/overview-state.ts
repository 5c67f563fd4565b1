import { dayRange, param } from './format';

/** The overview's view, all of it in the URL so a view can be shared: range, filters, chart metric, panel tabs. */
export interface OverviewState {
  from: string;
  to: string;
  error?: string;
  filters: Array<{ dim: string; op: '==' | '!='; value: string }>;
  metric: Metric;
  tabs: Record<string, string>;
}

export const METRICS = [
  { id: 'visitors', label: 'Unique visitors' },
  { id: 'visits', label: 'Visits' },
  { id: 'pageviews', label: 'Page views' },
  { id: 'viewsPerVisit', label: 'Views per visit' },
  { id: 'bounceRate', label: 'Bounce rate' },
  { id: 'visitDuration', label: 'Visit duration' },
  { id: 'orders', label: 'Orders' },
  { id: 'revenue', label: 'Revenue' },
] as const;
export type Metric = (typeof METRICS)[number]['id'];

/** The breakdown panels, each a set of tabs (dimensions of the stats API). */
export const PANELS = [
  {
    id: 'sources',
    title: 'Sources',
    tabs: [
      ['channel', 'Channels'],
      ['referrer', 'Referrers'],
      ['utmSource', 'UTM source'],
      ['utmMedium', 'UTM medium'],
      ['utmCampaign', 'UTM campaign'],
    ],
  },
  {
    id: 'pages',
    title: 'Pages',
    tabs: [
      ['page', 'Top pages'],
      ['entryPage', 'Entry pages'],
      ['exitPage', 'Exit pages'],
    ],
  },
  {
    id: 'places',
    title: 'Places',
    tabs: [
      ['country', 'Countries'],
      ['region', 'Regions'],
    ],
  },
  {
    id: 'devices',
    title: 'Devices',
    tabs: [
      ['device', 'Devices'],
      ['browser', 'Browsers'],
      ['os', 'Operating systems'],
    ],
  },
] as const;

/** Names of the dimensions as the console shows them in filter chips. */
export const DIMENSION_NAMES: Record<string, string> = {
  channel: 'Channel',
  referrer: 'Referrer',
  utmSource: 'UTM source',
  utmMedium: 'UTM medium',
  utmCampaign: 'UTM campaign',
  utmTerm: 'UTM term',
  utmContent: 'UTM content',
  page: 'Page',
  entryPage: 'Entry page',
  exitPage: 'Exit page',
  country: 'Country',
  region: 'Region',
  device: 'Device',
  browser: 'Browser',
  os: 'Operating system',
  event: 'Event',
};

export function overviewState(sp: Record<string, string | string[] | undefined>): OverviewState {
  const { from, to, error } = dayRange(sp);
  const filters = (param(sp.filters) ?? '')
    .split(';')
    .map((part) => /^([a-zA-Z]+)(==|!=)(.+)$/.exec(part))
    .filter((m): m is RegExpExecArray => Boolean(m && m[1]! in DIMENSION_NAMES))
    .map((m) => ({ dim: m[1]!, op: m[2] as '==' | '!=', value: m[3]! }));
  const metricParam = param(sp.metric);
  const metric = (METRICS.find((m) => m.id === metricParam)?.id ?? 'visitors') as Metric;
  const tabs: Record<string, string> = {};
  for (const p of PANELS) {
    const t = param(sp[p.id]);
    tabs[p.id] = p.tabs.some(([d]) => d === t) ? t! : p.tabs[0][0];
  }
  return { from, to, error, filters, metric, tabs };
}

export const filtersParam = (filters: OverviewState['filters']) =>
  filters.map((f) => `${f.dim}${f.op}${f.value}`).join(';');

/** The overview's URL for this state with some of it changed. */
export function overviewHref(
  state: OverviewState,
  change: Partial<Omit<OverviewState, 'error'>> = {},
  base = '/',
): string {
  const s = { ...state, ...change, tabs: { ...state.tabs, ...change.tabs } };
  const q = new URLSearchParams({ from: s.from, to: s.to });
  const f = filtersParam(s.filters);
  if (f) q.set('filters', f);
  if (s.metric !== 'visitors') q.set('metric', s.metric);
  for (const p of PANELS) if (s.tabs[p.id] !== p.tabs[0][0]) q.set(p.id, s.tabs[p.id]!);
  return `${base}?${q.toString()}`;
}

/** The state with `dim == value` as a filter (replacing any filter on that dimension). */
export const withFilter = (state: OverviewState, dim: string, value: string): OverviewState['filters'] => [
  ...state.filters.filter((f) => f.dim !== dim),
  { dim, op: '==', value },
];
