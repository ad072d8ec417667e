import { collectDefaultMetrics, Counter, Histogram, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { EnvironmentStore } from './store/environments';
import { onExecutionEnd } from './store/logs';

/**
 * Syncline's Prometheus metrics, served by `GET /metrics`. Every series of tenant data carries an
 * `environment` label; process metrics (`process_*`, `nodejs_*`) carry none. Counters are per
 * process: in cluster mode scrape every process and sum.
 *
 * Run metrics are fed by `onExecutionEnd` (the store tells when a sync job or action run ended),
 * schedule lag by the sync activity, proxy calls by the proxy route, refreshes by the refresher.
 */
export const registry = new Registry();
/**
 * The event loop's delay (`nodejs_eventloop_lag_*`) is sampled every 100 ms, not prom-client's 10:
 * each sample is a timer that wakes the process, 100 a second at 10 ms, busy or idle, and a wake-up
 * is a good part of what an idle process costs. A delay longer than 100 ms shows all the same.
 */
const EVENT_LOOP_SAMPLE_MS = 100;
collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });

const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const LAG_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

const RUN_LABELS = ['environment', 'integration', 'operation', 'script', 'status'] as const;

const runs = new Counter({
  name: 'syncline_runs_total',
  help: 'Finished sync, action and webhook handler runs, by outcome (success or error)',
  labelNames: RUN_LABELS,
  registers: [registry],
});
const runDuration = new Histogram({
  name: 'syncline_run_duration_seconds',
  help: 'Wall-clock duration of finished runs (retried attempts included)',
  labelNames: RUN_LABELS,
  buckets: DURATION_BUCKETS,
  registers: [registry],
});
const recordsWritten = new Counter({
  name: 'syncline_records_written_total',
  help: 'Records written by sync runs, by change (added, updated, deleted)',
  labelNames: ['environment', 'integration', 'sync', 'model', 'change'] as const,
  registers: [registry],
});
const scheduleLag = new Histogram({
  name: 'syncline_sync_schedule_lag_seconds',
  help: 'Delay between the time a scheduled sync run was due and the start of its run',
  labelNames: ['environment', 'integration', 'sync'] as const,
  buckets: LAG_BUCKETS,
  registers: [registry],
});
const proxyRequests = new Counter({
  name: 'syncline_proxy_requests_total',
  help: 'Requests through GET/POST/... /proxy, by the status class of the provider answer (2xx..5xx, or error when none came)',
  labelNames: ['environment', 'integration', 'status_class'] as const,
  registers: [registry],
});
const tokenRefreshes = new Counter({
  name: 'syncline_token_refreshes_total',
  help: 'Calls to a provider to refresh credentials, by result (success or failure)',
  labelNames: ['environment', 'integration', 'result'] as const,
  registers: [registry],
});

onExecutionEnd((end) => {
  const labels = { environment: end.environment, integration: end.integration, operation: end.operation, script: end.script, status: end.success ? 'success' : 'error' };
  runs.inc(labels);
  runDuration.observe(labels, Math.max(0, end.finishedAt.getTime() - end.startedAt.getTime()) / 1000);
  for (const [model, counts] of Object.entries(end.counts)) {
    for (const change of ['added', 'updated', 'deleted'] as const) {
      if (counts[change] > 0) recordsWritten.inc({ environment: end.environment, integration: end.integration, sync: end.script, model, change }, counts[change]);
    }
  }
});

/** How late a scheduled sync run started (not observed for triggered runs). */
export function observeScheduleLag(key: { environment: string; integration: string; sync: string }, lagMs: number): void {
  scheduleLag.observe({ environment: key.environment, integration: key.integration, sync: key.sync }, Math.max(0, lagMs) / 1000);
}

/** One proxied request; `status` is null when the provider never answered. */
export function countProxyRequest(environment: string, integration: string, status: number | null): void {
  proxyRequests.inc({ environment, integration, status_class: status === null ? 'error' : `${Math.floor(status / 100)}xx` });
}

const environmentNames = new Map<number, Promise<string>>();

/** One provider call to refresh a connection's credentials (the environment's name is looked up once). */
export function countTokenRefresh(environments: EnvironmentStore, connection: { environmentId: number; providerConfigKey: string }, ok: boolean): void {
  let name = environmentNames.get(connection.environmentId);
  if (!name) {
    name = environments.byId(connection.environmentId).then((env) => env?.name ?? String(connection.environmentId));
    environmentNames.set(connection.environmentId, name);
    name.catch(() => environmentNames.delete(connection.environmentId));
  }
  void name.then(
    (environment) => tokenRefreshes.inc({ environment, integration: connection.providerConfigKey, result: ok ? 'success' : 'failure' }),
    () => undefined,
  );
}

/**
 * The metrics in Prometheus text format (0.0.4). With `environment`, only that environment's series
 * and the process metrics; without, everything.
 *
 * @example
 * res.type(METRICS_CONTENT_TYPE).send(await renderMetrics('prod'));
 */
export async function renderMetrics(environment?: string): Promise<string> {
  const metrics = await registry.getMetricsAsJSON();
  return metrics.map((metric) => renderMetric(metric, environment)).join('\n');
}

export const METRICS_CONTENT_TYPE = registry.contentType;

function renderMetric(metric: MetricObjectWithValues<MetricValue<string>>, environment: string | undefined): string {
  const lines = [`# HELP ${metric.name} ${metric.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${metric.name} ${metric.type}`];
  for (const sample of metric.values) {
    const labels = sample.labels as Record<string, string | number | undefined>;
    if (environment !== undefined && 'environment' in labels && labels.environment !== environment) continue;
    if (environment !== undefined && !('environment' in labels) && metric.name.startsWith('syncline_')) continue;
    const name = (sample as { metricName?: string }).metricName ?? metric.name;
    const pairs = Object.entries(labels)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}="${String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
    lines.push(`${name}${pairs.length ? `{${pairs.join(',')}}` : ''} ${formatValue(sample.value)}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
