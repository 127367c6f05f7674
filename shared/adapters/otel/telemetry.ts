/**
 * Telemetry an operator expects: custom metrics and traces through OpenTelemetry, exported to
 * Application Insights with Entra ID authentication, or to the console locally.
 *
 * - `startTelemetry(config, credential?)` installs the exporters once per process. With
 *   `APPLICATIONINSIGHTS_CONNECTION_STRING` it calls the Azure Monitor OpenTelemetry distro
 *   (`useAzureMonitor`); with `GW_TELEMETRY_CONSOLE=true` it also (or only) prints the same
 *   telemetry to the console. With neither it loads nothing and installs nothing, and the facade
 *   it returns is `noTelemetry`.
 * - `Telemetry` is the small typed facade the use cases call. Metric attributes are bounded
 *   (closed lists and code-shaped labels, see ./telemetry/attributes.ts): resource ids and free
 *   text go only on spans, scrubbed of secrets.
 *
 * Instruments (Application Insights: table `customMetrics`, `name` = the instrument name,
 * attributes in `customDimensions`; counters arrive as per-interval sums in `valueSum`):
 * https://learn.microsoft.com/azure/azure-monitor/app/opentelemetry-add-modify?tabs=nodejs#add-custom-metrics
 */
import {
  context,
  metrics,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type MeterProvider,
  type TracerProvider,
} from "@opentelemetry/api";
import type { TokenCredential } from "@azure/identity";
import type { AzureMonitorOpenTelemetryOptions } from "@azure/monitor-opentelemetry";
import { FINDING_RULES, SEVERITIES, type FindingRuleId, type Severity, type TransitionKind } from "../../domain/findings.js";
import type { SpanIds, Telemetry } from "../../app/ports.js";
import {
  ALERT_OUTCOMES,
  ARM_OUTCOMES,
  DISPOSITIONS,
  OTHER,
  SWEEP_FAILURE_REASONS,
  SWEEP_STATUSES,
  TRANSITION_KINDS,
  eventReasonCode,
  labelBudget,
  oneOf,
  spanText,
  type AlertDeliveryOutcome,
  type ArmReadOutcome,
  type EventDispositionLabel,
} from "./attributes.js";

export type { AlertDeliveryOutcome, ArmReadOutcome, EventDispositionLabel } from "./attributes.js";

/** Instrument names: the `name` column of `customMetrics` (infra/monitoring/*.kql query these). */
export const METRICS = {
  events: "gallerywatch.events",
  armReads: "gallerywatch.arm.reads",
  armThrottles: "gallerywatch.arm.throttles",
  findingTransitions: "gallerywatch.findings.transitions",
  alerts: "gallerywatch.alerts",
  sweepDuration: "gallerywatch.sweep.duration",
  sweepFailures: "gallerywatch.sweep.failures",
} as const;

/** Span attribute names (`customDimensions` of the span's `dependencies` / `requests` row). */
export const SPAN_ATTRIBUTES = {
  correlationId: "gallerywatch.correlation_id",
  eventId: "gallerywatch.event_id",
  resourceId: "gallerywatch.resource_id",
  disposition: "gallerywatch.event.disposition",
  reason: "gallerywatch.event.reason",
} as const;

/** The meter's and tracer's name (OpenTelemetry instrumentation scope). */
export const TELEMETRY_SCOPE = "gallery-watch";

/** What `loadConfig` reads for telemetry (`config.telemetry`). */
export interface TelemetrySettings {
  /** `APPLICATIONINSIGHTS_CONNECTION_STRING`: holds the instrumentation key, so it is never logged. */
  readonly connectionString?: string;
  /** `GW_TELEMETRY_CONSOLE`: print spans and metrics to the console as well. */
  readonly console: boolean;
}

export type { SpanIds, Telemetry } from "../../app/ports.js";

/** Does nothing: for tests, the in-memory runtime, and a process with telemetry off. */
export const noTelemetry: Telemetry = Object.freeze({
  eventHandled: () => undefined,
  armRead: () => undefined,
  armThrottled: () => undefined,
  findingTransition: () => undefined,
  alertDelivery: () => undefined,
  sweepRun: () => undefined,
  withSpan: <T>(_name: string, _ids: SpanIds, fn: () => Promise<T>) => fn(),
});

export interface TelemetryProviders {
  /** Default: the global meter provider at the time of the call (so call after `startTelemetry`). */
  readonly meterProvider?: MeterProvider;
  /** Default: the global tracer provider (a proxy: spans follow a provider registered later). */
  readonly tracerProvider?: TracerProvider;
}

/** Most distinct ARM operation names / span names kept per process; later new ones count as `other`. */
const LABEL_BUDGET = 64;

/**
 * The facade over OpenTelemetry meters and a tracer. Tests pass their own providers (an
 * in-memory exporter); the app calls it through `startTelemetry`, which uses the global ones.
 */
export function createTelemetry(providers: TelemetryProviders = {}): Telemetry {
  const meter = (providers.meterProvider ?? metrics.getMeterProvider()).getMeter(TELEMETRY_SCOPE);
  const tracer = (providers.tracerProvider ?? trace.getTracerProvider()).getTracer(TELEMETRY_SCOPE);
  const operationLabel = labelBudget(LABEL_BUDGET);
  const spanName = labelBudget(LABEL_BUDGET);

  const events = meter.createCounter(METRICS.events, { unit: "{event}", description: "Event Grid events by disposition: accepted, ignored, invalid (refused)." });
  const armReads = meter.createCounter(METRICS.armReads, { unit: "{read}", description: "ARM reads by operation and outcome: found, gone, noAccess, throttled, failed." });
  const armThrottles = meter.createCounter(METRICS.armThrottles, { unit: "{response}", description: "ARM 429 responses, retried or not, by operation." });
  const transitions = meter.createCounter(METRICS.findingTransitions, { unit: "{transition}", description: "Stored finding transitions by kind, rule and severity." });
  const alerts = meter.createCounter(METRICS.alerts, { unit: "{attempt}", description: "Teams alert delivery attempts by outcome: delivered, retried, failed." });
  const sweepDuration = meter.createHistogram(METRICS.sweepDuration, {
    unit: "s",
    description: "Duration of finished sweep runs (one subscription each), by status.",
    advice: { explicitBucketBoundaries: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600] },
  });
  const sweepFailures = meter.createCounter(METRICS.sweepFailures, { unit: "{part}", description: "Sweep parts that could not be read, by run status, ARM operation and reason." });

  /** Telemetry must never break the work it observes. */
  const safely = (record: () => void): void => {
    try {
      record();
    } catch {
      // An exporter or a misbehaving provider: the event, read or delivery goes on regardless.
    }
  };

  return {
    eventHandled(disposition, reason) {
      safely(() => {
        const code = eventReasonCode(reason);
        const label = oneOf(disposition, DISPOSITIONS);
        events.add(1, code === undefined ? { disposition: label } : { disposition: label, reason: code });
        const span = trace.getActiveSpan();
        if (span?.isRecording()) {
          span.setAttribute(SPAN_ATTRIBUTES.disposition, label);
          if (reason) span.setAttribute(SPAN_ATTRIBUTES.reason, spanText(reason));
        }
      });
    },
    armRead(operation, outcome) {
      safely(() => {
        const op = operationLabel(operation);
        const result = oneOf(outcome, ARM_OUTCOMES);
        armReads.add(1, { operation: op, outcome: result });
        if (result === "throttled") armThrottles.add(1, { operation: op });
      });
    },
    armThrottled(operation) {
      safely(() => armThrottles.add(1, { operation: operationLabel(operation) }));
    },
    findingTransition(kind, ruleId, severity) {
      safely(() => transitions.add(1, { kind: oneOf(kind, TRANSITION_KINDS), rule: oneOf(ruleId, FINDING_RULES), severity: oneOf(severity, SEVERITIES) }));
    },
    alertDelivery(outcome) {
      safely(() => alerts.add(1, { outcome: oneOf(outcome, ALERT_OUTCOMES) }));
    },
    sweepRun(run) {
      safely(() => {
        if (run.status === "running" || !run.finishedAt) return;
        const status = oneOf(run.status, SWEEP_STATUSES);
        const seconds = (Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
        if (Number.isFinite(seconds) && seconds >= 0) sweepDuration.record(seconds, { status });
        for (const failure of run.failures) {
          const reason = oneOf(/^[A-Za-z]+/.exec(failure.reason)?.[0], SWEEP_FAILURE_REASONS);
          sweepFailures.add(1, { status, operation: operationLabel(failure.operation), reason });
        }
      });
    },
    withSpan(name, ids, fn) {
      // Correlation: the span is a child of the active context and keeps its trace id. In Azure
      // Functions the distro's preInvocation hook makes the host's invocation the active context
      // (the `traceparent` the host passes in the invocation's trace context), so the host's
      // `requests` row, the ARM and storage `dependencies` rows and these spans share one
      // `operation_Id`. We deliberately do not turn the Event Grid correlationId into the trace
      // id: that would detach our spans from the host's request and from each other's retries,
      // and one ARM correlationId covers several events (an LRO's writes, Event Grid's
      // redeliveries), which is a grouping, not one operation. The correlationId is therefore a
      // span attribute (`customDimensions["gallerywatch.correlation_id"]`), and
      // infra/monitoring/correlation.kql goes from it to every operation_Id it touched.
      // https://learn.microsoft.com/azure/azure-monitor/app/distributed-trace-data
      const attributes: Attributes = {};
      if (ids.correlationId) attributes[SPAN_ATTRIBUTES.correlationId] = spanText(ids.correlationId, 128);
      if (ids.eventId) attributes[SPAN_ATTRIBUTES.eventId] = spanText(ids.eventId, 256);
      if (ids.resourceId) attributes[SPAN_ATTRIBUTES.resourceId] = spanText(ids.resourceId, 1024);
      const label = spanName(name);
      return tracer.startActiveSpan(label === OTHER ? "gallerywatch.operation" : label, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
        try {
          return await fn();
        } catch (error) {
          safely(() => {
            const e = error instanceof Error ? error : new Error(String(error));
            span.recordException({ name: e.name, message: spanText(e.message, 1024), ...(e.stack ? { stack: spanText(e.stack, 4096) } : {}) });
            span.setStatus({ code: SpanStatusCode.ERROR, message: spanText(e.message) });
          });
          throw error;
        } finally {
          span.end();
        }
      });
    },
  };
}

/** The active span's ids, for a logger child (`operation_Id` in Application Insights is the trace id). */
export function activeTraceIds(): { readonly traceId: string; readonly spanId: string } | undefined {
  const span = trace.getActiveSpan();
  const ids = span?.spanContext();
  return ids && trace.isSpanContextValid(ids) ? { traceId: ids.traceId, spanId: ids.spanId } : undefined;
}

export interface StartTelemetryOptions {
  /** Where a failure to install telemetry is reported (the app goes on without it). */
  readonly log?: { warn(object: object, message: string): void };
  /** How often console metrics are printed (default 30 s). */
  readonly consoleIntervalMs?: number;
}

/**
 * Query parameters whose values the HTTP instrumentation replaces by `REDACTED` in dependency
 * URLs. `sig` is in its default list already; the others are SAS and token parameters.
 */
const REDACTED_QUERY_PARAMS = ["sig", "code", "key", "token", "access_token", "se", "sp", "sv", "skoid", "sktid", "skt", "ske", "sks", "skv", "AWSAccessKeyId", "Signature", "X-Goog-Signature"];

let started: Promise<Telemetry> | undefined;
let uninstall: (() => Promise<void>) | undefined;

/**
 * Installs telemetry once per process and returns the facade; later calls return the same one
 * (whatever their arguments). Never throws: a failure is reported through `options.log` and
 * telemetry stays off.
 *
 * `credential` authenticates the exporter with Entra ID (the app's managed identity needs
 * Monitoring Metrics Publisher on the Application Insights resource, whose local auth is off).
 * Default: `DefaultAzureCredential`, which uses the user-assigned identity named by `AZURE_CLIENT_ID`.
 * https://learn.microsoft.com/azure/azure-monitor/app/azure-ad-authentication?tabs=nodejs
 */
export function startTelemetry(config: { readonly telemetry?: TelemetrySettings }, credential?: TokenCredential, options: StartTelemetryOptions = {}): Promise<Telemetry> {
  started ??= install(config.telemetry, credential, options).catch((error: unknown) => {
    // The message is the SDK's; the connection string is never part of it, but scrub anyway.
    options.log?.warn({ err: { name: (error as Error)?.name, message: spanText((error as Error)?.message ?? error, 500) } }, "telemetry could not be started; going on without it");
    return noTelemetry;
  });
  return started;
}

/** Exports what is buffered now (a short-lived process such as the CLI calls this before exiting). */
export async function flushTelemetry(): Promise<void> {
  type Flushable = { forceFlush?: () => Promise<void>; getDelegate?: () => unknown };
  const meterProvider = metrics.getMeterProvider() as Flushable;
  const tracerProvider = trace.getTracerProvider() as Flushable;
  const delegate = (tracerProvider.getDelegate?.() ?? tracerProvider) as Flushable;
  await Promise.all([meterProvider.forceFlush?.(), delegate.forceFlush?.()]);
}

/** Flushes and removes what `startTelemetry` installed, so it can be started again (tests, shutdown). */
export async function stopTelemetry(): Promise<void> {
  const stop = uninstall;
  uninstall = undefined;
  started = undefined;
  await stop?.();
}

async function install(settings: TelemetrySettings | undefined, credential: TokenCredential | undefined, options: StartTelemetryOptions): Promise<Telemetry> {
  const connectionString = settings?.connectionString?.trim();
  const toConsole = settings?.console === true;
  // Off: import nothing, register nothing. The OpenTelemetry API's no-op providers stay in place.
  if (!connectionString && !toConsole) return noTelemetry;

  const consoleExport = toConsole ? await consoleExporters(options.consoleIntervalMs ?? 30_000) : undefined;

  if (connectionString) {
    const { useAzureMonitor, shutdownAzureMonitor } = await import("@azure/monitor-opentelemetry");
    const tokenCredential = credential ?? new (await import("@azure/identity")).DefaultAzureCredential();
    type HttpOptions = NonNullable<NonNullable<AzureMonitorOpenTelemetryOptions["instrumentationOptions"]>["http"]>;
    const monitorOptions: AzureMonitorOpenTelemetryOptions = {
      azureMonitorExporterOptions: { connectionString, credential: tokenCredential },
      instrumentationOptions: { http: { enabled: true, redactedQueryParams: REDACTED_QUERY_PARAMS } as HttpOptions },
      ...(consoleExport ? { spanProcessors: [consoleExport.spanProcessor], metricReaders: [consoleExport.metricReader] } : {}),
    };
    useAzureMonitor(monitorOptions);
    uninstall = async () => {
      await shutdownAzureMonitor();
      disableGlobals();
    };
    return createTelemetry();
  }

  // Console only (local): a tracer provider with the async-hooks context manager and a meter provider.
  const { NodeTracerProvider } = await import("@opentelemetry/sdk-trace-node");
  const { MeterProvider } = await import("@opentelemetry/sdk-metrics");
  const tracerProvider = new NodeTracerProvider({ spanProcessors: [consoleExport!.spanProcessor] });
  tracerProvider.register();
  const meterProvider = new MeterProvider({ readers: [consoleExport!.metricReader] });
  metrics.setGlobalMeterProvider(meterProvider);
  uninstall = async () => {
    await Promise.allSettled([tracerProvider.shutdown(), meterProvider.shutdown()]);
    disableGlobals();
  };
  return createTelemetry();
}

/** ConsoleSpanExporter / ConsoleMetricExporter from the OpenTelemetry SDK the distro brings. */
async function consoleExporters(intervalMs: number) {
  const { ConsoleSpanExporter, SimpleSpanProcessor } = await import("@opentelemetry/sdk-trace-node");
  const { ConsoleMetricExporter, PeriodicExportingMetricReader } = await import("@opentelemetry/sdk-metrics");
  return {
    spanProcessor: new SimpleSpanProcessor(new ConsoleSpanExporter()),
    metricReader: new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: intervalMs, exportTimeoutMillis: Math.min(intervalMs, 30_000) }),
  };
}

function disableGlobals(): void {
  trace.disable();
  metrics.disable();
  context.disable();
  propagation.disable();
}
