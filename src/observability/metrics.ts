import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * This process's Prometheus metrics, on a registry of its own (several Chronos instances may share a
 * process in tests). Counters and histograms are observed where things happen; gauges of the read models
 * and streams are read when scraped (see MetricsController).
 */
export class ChronosMetrics {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'chronos_http_requests_total',
    help: 'HTTP requests answered, by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'chronos_http_request_duration_seconds',
    help: 'HTTP request durations',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly fireLateness = new Histogram({
    name: 'chronos_fire_lateness_seconds',
    help: 'how long after its instant a scheduled fire was recorded (0 when fired ahead: see start lateness)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
    registers: [this.registry],
  });
  readonly startLateness = new Histogram({
    name: 'chronos_start_lateness_seconds',
    help: "how long after its instant a run's first attempt started on a worker",
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60],
    registers: [this.registry],
  });
  readonly executionDuration = new Histogram({
    name: 'chronos_execution_duration_seconds',
    help: 'run time of executions, by job type and outcome',
    labelNames: ['type', 'outcome'] as const,
    buckets: [0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60, 300],
    registers: [this.registry],
  });
  readonly jobs = new Gauge({ name: 'chronos_jobs', help: 'jobs by status (read model)', labelNames: ['status'] as const, registers: [this.registry] });
  readonly executions = new Gauge({
    name: 'chronos_executions',
    help: 'executions by status and job type (read model)',
    labelNames: ['status', 'type'] as const,
    registers: [this.registry],
  });
  readonly workPending = new Gauge({ name: 'chronos_work_pending', help: 'work items waiting for a worker', registers: [this.registry] });
  readonly workInFlight = new Gauge({ name: 'chronos_work_in_flight', help: 'work items delivered and not yet acknowledged', registers: [this.registry] });
  readonly projectionLag = new Gauge({
    name: 'chronos_projection_lag_events',
    help: 'messages of the event log a read model has not applied yet',
    labelNames: ['projection'] as const,
    registers: [this.registry],
  });
  readonly projectionStalls = new Counter({
    name: 'chronos_projection_stalls_total',
    help: 'jobs a read model began to hold back because it could not apply one of their events (this process)',
    labelNames: ['projection', 'code'] as const,
    registers: [this.registry],
  });
  readonly projectionStalledJobs = new Gauge({
    name: 'chronos_projection_stalled_jobs',
    help: 'jobs each read model holds back now (0: live)',
    labelNames: ['projection'] as const,
    registers: [this.registry],
  });

  readonly schedulerActive = new Gauge({
    name: 'chronos_scheduler_active',
    help: 'whether this scheduler process holds the scheduler lease (1: the active one, 0: standing by), by CHRONOS_INSTANCE_ID',
    labelNames: ['instance'] as const,
    registers: [this.registry],
  });

  constructor() {
    // The process and Node.js metrics under their standard names (process_cpu_seconds_total, nodejs_*), which
    // Node.js dashboards expect; the scrape's job label says whose they are.
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters (promtool: non-counter metrics should not have a "_total" suffix), and each only
    // the sum of the gauge by type beside it: sum(nodejs_active_handles) is the same figure.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
  }
}

export const METRICS = Symbol('ChronosMetrics');
