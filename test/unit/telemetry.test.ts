/**
 * Telemetry through in-memory exporters: what an operator will find in Application Insights'
 * `customMetrics` (name, dimensions, value) and on spans (the Event Grid correlation id), that
 * no secret reaches an attribute, and that `startTelemetry` installs nothing unless asked.
 *
 * The span SDK comes from `@opentelemetry/sdk-trace-node` 2.x, the one `@azure/monitor-opentelemetry`
 * runs on (the top-level `@opentelemetry/sdk-trace-base` is azurite's 1.x).
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { context, metrics, propagation, ROOT_CONTEXT, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type HistogramMetricData,
  type MetricData,
} from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter, NodeTracerProvider, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../shared/wiring/config.js";
import { ConfigError } from "../../shared/domain/errors.js";
import type { SweepRun } from "../../shared/app/ports.js";
import { createTelemetry, flushTelemetry, METRICS, noTelemetry, SPAN_ATTRIBUTES, startTelemetry, stopTelemetry, type Telemetry } from "../../shared/adapters/otel/telemetry.js";

const monitor = vi.hoisted(() => ({ useAzureMonitor: vi.fn(), shutdownAzureMonitor: vi.fn(async () => undefined) }));
vi.mock("@azure/monitor-opentelemetry", () => monitor);

const CORRELATION_ID = "3a1f5c2e-9b7d-4e61-8c0a-2f4e6d8b1c3a";
const EVENT_ID = "8d2b6f1e-0c4a-4b9e-a7d3-5e1f2c3b4a59";
const RESOURCE_ID = "/subscriptions/7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f/resourceGroups/rg-plant/providers/Microsoft.Compute/galleries/plantGallery/images/gateway-os/versions/1.0.1";
const SECRET = "FAKE-SECRET-7c1e";
const CONNECTION_STRING = "InstrumentationKey=00000000-1111-2222-3333-444444444444;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/";

interface Point {
  readonly attributes: Record<string, unknown>;
  readonly value: unknown;
}

function harness() {
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Exports only when flushed: the interval is far longer than any test.
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const telemetry = createTelemetry({ meterProvider, tracerProvider });

  async function exported(): Promise<MetricData[]> {
    await reader.forceFlush();
    const last = metricExporter.getMetrics().at(-1);
    return last?.scopeMetrics.flatMap((s) => s.metrics) ?? [];
  }
  async function points(name: string): Promise<Point[]> {
    const metric = (await exported()).find((m) => m.descriptor.name === name);
    return (metric?.dataPoints ?? []).map((p) => ({ attributes: { ...p.attributes }, value: p.value }));
  }
  const spans = (): ReadableSpan[] => spanExporter.getFinishedSpans();
  return { telemetry, tracerProvider, exported, points, spans };
}

const byAttributes = (a: Point, b: Point) => JSON.stringify(a.attributes).localeCompare(JSON.stringify(b.attributes));

function run(overrides: Partial<SweepRun> = {}): SweepRun {
  return {
    runId: "run-1",
    subscriptionId: "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f",
    startedAt: "2026-05-01T02:00:00.000Z",
    finishedAt: "2026-05-01T02:01:30.000Z",
    status: "succeeded",
    seen: { galleries: 2, definitions: 3, versions: 5, scaleSets: 1, virtualMachines: 0 },
    armRequests: 14,
    snapshotsWritten: 2,
    transitions: {},
    reconciled: 0,
    failures: [],
    ...overrides,
  };
}

afterEach(async () => {
  await stopTelemetry();
  trace.disable();
  metrics.disable();
  context.disable();
  propagation.disable();
  vi.restoreAllMocks();
  monitor.useAzureMonitor.mockClear();
  monitor.shutdownAzureMonitor.mockClear();
});

describe("metrics", () => {
  it("counts events by disposition, with the reason as a bounded code", async () => {
    const { telemetry, points } = harness();
    telemetry.eventHandled("accepted");
    telemetry.eventHandled("accepted");
    telemetry.eventHandled("ignored", "subscription not watched");
    telemetry.eventHandled("ignored", "operation 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/write' is not a gallery, scale set or virtual machine operation");
    telemetry.eventHandled("invalid", "event is 2000000 bytes; at most 1048576 are accepted");
    telemetry.eventHandled("invalid", `something nobody foresaw about ${RESOURCE_ID}`);

    expect((await points(METRICS.events)).sort(byAttributes)).toEqual(
      [
        { attributes: { disposition: "accepted" }, value: 2 },
        { attributes: { disposition: "ignored", reason: "subscription-not-watched" }, value: 1 },
        { attributes: { disposition: "ignored", reason: "operation-not-watched" }, value: 1 },
        { attributes: { disposition: "invalid", reason: "too-large" }, value: 1 },
        { attributes: { disposition: "invalid", reason: "other" }, value: 1 },
      ].sort(byAttributes),
    );
  });

  it("counts ARM reads by operation and outcome, and every 429 once as a throttle", async () => {
    const { telemetry, points } = harness();
    telemetry.armRead("galleries.get", "found");
    telemetry.armRead("galleries.get", "found");
    telemetry.armRead("galleryImageVersions.get", "gone");
    telemetry.armRead("galleryImages.get", "noAccess");
    telemetry.armThrottled("galleries.get"); // a 429 the retry absorbed
    telemetry.armRead("galleryImageVersions.get", "throttled"); // a read that ended throttled
    telemetry.armRead("virtualMachineScaleSets.get", "failed");

    expect((await points(METRICS.armReads)).sort(byAttributes)).toEqual(
      [
        { attributes: { operation: "galleries.get", outcome: "found" }, value: 2 },
        { attributes: { operation: "galleryImageVersions.get", outcome: "gone" }, value: 1 },
        { attributes: { operation: "galleryImages.get", outcome: "noAccess" }, value: 1 },
        { attributes: { operation: "galleryImageVersions.get", outcome: "throttled" }, value: 1 },
        { attributes: { operation: "virtualMachineScaleSets.get", outcome: "failed" }, value: 1 },
      ].sort(byAttributes),
    );
    expect((await points(METRICS.armThrottles)).sort(byAttributes)).toEqual(
      [
        { attributes: { operation: "galleries.get" }, value: 1 },
        { attributes: { operation: "galleryImageVersions.get" }, value: 1 },
      ].sort(byAttributes),
    );
  });

  it("counts finding transitions by kind, rule and severity", async () => {
    const { telemetry, points } = harness();
    telemetry.findingTransition("opened", "replication-breadth", "high");
    telemetry.findingTransition("opened", "replication-breadth", "high");
    telemetry.findingTransition("resolved", "shared-outside", "critical");
    telemetry.findingTransition("opened", "read-access", "medium");

    expect((await points(METRICS.findingTransitions)).sort(byAttributes)).toEqual(
      [
        { attributes: { kind: "opened", rule: "replication-breadth", severity: "high" }, value: 2 },
        { attributes: { kind: "resolved", rule: "shared-outside", severity: "critical" }, value: 1 },
        { attributes: { kind: "opened", rule: "read-access", severity: "medium" }, value: 1 },
      ].sort(byAttributes),
    );
  });

  it("counts alert delivery attempts by outcome", async () => {
    const { telemetry, points } = harness();
    telemetry.alertDelivery("delivered");
    telemetry.alertDelivery("retried");
    telemetry.alertDelivery("retried");
    telemetry.alertDelivery("failed");

    expect((await points(METRICS.alerts)).sort(byAttributes)).toEqual(
      [
        { attributes: { outcome: "delivered" }, value: 1 },
        { attributes: { outcome: "retried" }, value: 2 },
        { attributes: { outcome: "failed" }, value: 1 },
      ].sort(byAttributes),
    );
  });

  it("records a finished sweep's duration in seconds by status, and its failed parts by operation and reason", async () => {
    const { telemetry, exported, points } = harness();
    telemetry.sweepRun(run({ status: "running", finishedAt: undefined })); // still under way: not counted
    telemetry.sweepRun(run());
    telemetry.sweepRun(
      run({
        status: "partial",
        finishedAt: "2026-05-01T02:04:00.000Z",
        failures: [
          { resourceId: `${RESOURCE_ID.split("/images/")[0]}`, operation: "galleryImages.listByGallery", reason: "noAccess: AuthorizationFailed" },
          { resourceId: RESOURCE_ID, operation: "galleryImageVersions.listByGalleryImage", reason: "throttled: 429 SubscriptionRequestsThrottled" },
          { resourceId: RESOURCE_ID, operation: "galleryImageVersions.listByGalleryImage", reason: "throttled: 429" },
        ],
      }),
    );

    const duration = (await exported()).find((m) => m.descriptor.name === METRICS.sweepDuration) as HistogramMetricData | undefined;
    expect(duration?.descriptor.unit).toBe("s");
    const summary = (duration?.dataPoints ?? []).map((p) => ({ attributes: { ...p.attributes }, count: p.value.count, sum: p.value.sum })).sort((a, b) => (a.sum ?? 0) - (b.sum ?? 0));
    expect(summary).toEqual([
      { attributes: { status: "succeeded" }, count: 1, sum: 90 },
      { attributes: { status: "partial" }, count: 1, sum: 240 },
    ]);
    expect((await points(METRICS.sweepFailures)).sort(byAttributes)).toEqual(
      [
        { attributes: { status: "partial", operation: "galleryImages.listByGallery", reason: "noAccess" }, value: 1 },
        { attributes: { status: "partial", operation: "galleryImageVersions.listByGalleryImage", reason: "throttled" }, value: 2 },
      ].sort(byAttributes),
    );
  });

  it("keeps metric attributes bounded: ids, free text and unknown values become 'other'", async () => {
    const { telemetry, exported } = harness();
    telemetry.armRead(RESOURCE_ID, "found");
    telemetry.armRead("read the gallery please", "found");
    for (let i = 0; i < 200; i++) telemetry.armRead(`operation${i}.get`, "found");
    telemetry.findingTransition("opened" as never, "no-such-rule" as never, "apocalyptic" as never);
    telemetry.alertDelivery("lost" as never);
    telemetry.eventHandled("accepted", `unexpected: ${RESOURCE_ID}`);

    const values = (await exported()).flatMap((m) => m.dataPoints.flatMap((p) => Object.values(p.attributes)));
    expect(values.length).toBeGreaterThan(0);
    for (const value of values) {
      expect(String(value)).not.toContain("/");
      expect(String(value)).not.toContain(" ");
      expect(String(value).length).toBeLessThanOrEqual(64);
    }
    const operations = new Set((await exported()).find((m) => m.descriptor.name === METRICS.armReads)?.dataPoints.map((p) => p.attributes.operation));
    // 64 distinct operation names at most, plus the catch-all.
    expect(operations.size).toBe(65);
    expect(operations.has("other")).toBe(true);
  });

  it("never throws into the work it observes, even when the provider does", () => {
    const broken = createTelemetry({
      meterProvider: {
        getMeter: () =>
          ({
            createCounter: () => ({ add: () => { throw new Error("exporter down"); } }),
            createHistogram: () => ({ record: () => { throw new Error("exporter down"); } }),
          }) as never,
      },
    });
    expect(() => {
      broken.eventHandled("accepted");
      broken.armRead("galleries.get", "throttled");
      broken.findingTransition("opened", "lifecycle", "medium");
      broken.alertDelivery("failed");
      broken.sweepRun(run({ failures: [{ resourceId: RESOURCE_ID, operation: "galleries.get", reason: "failed: 500" }] }));
    }).not.toThrow();
  });
});

describe("spans", () => {
  let h: ReturnType<typeof harness>;
  beforeEach(() => {
    h = harness();
    // What the distro does in the app: the async-hooks context manager, so the active span follows awaits.
    h.tracerProvider.register();
  });

  it("carries the Event Grid correlation id, event id and resource id as span attributes", async () => {
    const result = await h.telemetry.withSpan("gallerywatch.event", { correlationId: CORRELATION_ID, eventId: EVENT_ID, resourceId: RESOURCE_ID }, async () => {
      h.telemetry.eventHandled("accepted");
      return 42;
    });

    expect(result).toBe(42);
    const [span] = h.spans();
    expect(span?.name).toBe("gallerywatch.event");
    expect(span?.attributes).toMatchObject({
      "gallerywatch.correlation_id": CORRELATION_ID,
      "gallerywatch.event_id": EVENT_ID,
      "gallerywatch.resource_id": RESOURCE_ID,
      "gallerywatch.event.disposition": "accepted",
    });
    expect(span?.status.code).not.toBe(SpanStatusCode.ERROR);
  });

  it("joins the Functions invocation's trace, so Application Insights gives it the host's operation id", async () => {
    const host = { traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: TraceFlags.SAMPLED, isRemote: true };
    const invocation = trace.setSpanContext(ROOT_CONTEXT, host);
    await context.with(invocation, () =>
      h.telemetry.withSpan("gallerywatch.event", { correlationId: CORRELATION_ID }, () => h.telemetry.withSpan("gallerywatch.check", { resourceId: RESOURCE_ID }, async () => "done")),
    );

    const spans = h.spans();
    const outer = spans.find((s) => s.name === "gallerywatch.event");
    const inner = spans.find((s) => s.name === "gallerywatch.check");
    expect(outer?.spanContext().traceId).toBe(host.traceId);
    expect(outer?.parentSpanContext?.spanId).toBe(host.spanId);
    expect(inner?.spanContext().traceId).toBe(host.traceId);
    expect(inner?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
    expect(outer?.attributes["gallerywatch.correlation_id"]).toBe(CORRELATION_ID);
  });

  it("records a failure on the span and rethrows the same error", async () => {
    const error = new Error(`POST https://prod-00.westeurope.logic.azure.com/workflows/abc/invoke?api-version=2016-06-01&sig=${SECRET} failed with 502`);
    await expect(h.telemetry.withSpan("gallerywatch.deliver", {}, async () => { throw error; })).rejects.toBe(error);

    const [span] = h.spans();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(span?.status.message).toContain("failed with 502");
    const exception = span?.events.find((e) => e.name === "exception");
    expect(exception?.attributes?.["exception.message"]).toContain("sig=***");
  });

  it("lets no secret reach a span or metric attribute", async () => {
    await h.telemetry.withSpan(
      "gallerywatch.event",
      {
        correlationId: CORRELATION_ID,
        eventId: `evt?sig=${SECRET}`,
        resourceId: `${RESOURCE_ID}?sig=${SECRET}&code=${SECRET}`,
      },
      async () => {
        h.telemetry.eventHandled("invalid", `not a valid Event Grid schema event: AccountKey=${SECRET}; InstrumentationKey=${SECRET}; Bearer ${SECRET}; sig=${SECRET}`);
        h.telemetry.armRead(`galleries.get?sig=${SECRET}`, "failed");
        throw new Error(`DefaultEndpointsProtocol=https;AccountName=gw;AccountKey=${SECRET};SharedAccessSignature=${SECRET}`);
      },
    ).catch(() => undefined);

    const everything = JSON.stringify({
      spans: h.spans().map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })),
      metrics: (await h.exported()).map((m) => m.dataPoints.map((p) => p.attributes)),
    });
    expect(everything).toContain("gallerywatch.correlation_id"); // the dump holds the attributes…
    expect(everything).toContain("***"); // …with the secrets masked…
    expect(everything).not.toContain(SECRET); // …and none left in clear
  });
});

describe("noTelemetry", () => {
  it("runs the work and passes its result and its errors through", async () => {
    await expect(noTelemetry.withSpan("x", { correlationId: CORRELATION_ID }, async () => "value")).resolves.toBe("value");
    const error = new Error("boom");
    await expect(noTelemetry.withSpan("x", {}, async () => { throw error; })).rejects.toBe(error);
  });
});

describe("startTelemetry", () => {
  it("installs nothing without a connection string or the console flag", async () => {
    const meterProvider = metrics.getMeterProvider();
    const telemetry = await startTelemetry({ telemetry: { console: false } });

    expect(telemetry).toBe(noTelemetry);
    expect(monitor.useAzureMonitor).not.toHaveBeenCalled();
    expect(metrics.getMeterProvider()).toBe(meterProvider);
    const span = trace.getTracer("probe").startSpan("probe");
    expect(span.isRecording()).toBe(false);
    expect(trace.isSpanContextValid(span.spanContext())).toBe(false);
    span.end();
  });

  it("uses the Azure Monitor distro with Entra ID authentication, once per process", async () => {
    const credential = { getToken: vi.fn(async () => ({ token: "t", expiresOnTimestamp: Date.now() + 3_600_000 })) };
    const first = await startTelemetry({ telemetry: { connectionString: CONNECTION_STRING, console: false } }, credential);
    const second = await startTelemetry({ telemetry: { connectionString: CONNECTION_STRING, console: true } }, credential);

    expect(second).toBe(first);
    expect(first).not.toBe(noTelemetry);
    expect(monitor.useAzureMonitor).toHaveBeenCalledTimes(1);
    const options = monitor.useAzureMonitor.mock.calls[0]?.[0] as Record<string, unknown> & { azureMonitorExporterOptions: { connectionString: string; credential: unknown } };
    expect(options.azureMonitorExporterOptions.connectionString).toBe(CONNECTION_STRING);
    expect(options.azureMonitorExporterOptions.credential).toBe(credential);
    expect(options.spanProcessors).toBeUndefined();
    expect(options.metricReaders).toBeUndefined();
    expect((options.instrumentationOptions as { http: { redactedQueryParams: string[] } }).http.redactedQueryParams).toContain("sig");

    await stopTelemetry();
    expect(monitor.shutdownAzureMonitor).toHaveBeenCalledTimes(1);
  });

  it("adds the console exporters to the distro when both are asked for, and defaults to DefaultAzureCredential", async () => {
    await startTelemetry({ telemetry: { connectionString: CONNECTION_STRING, console: true } });

    const options = monitor.useAzureMonitor.mock.calls[0]?.[0] as { spanProcessors?: unknown[]; metricReaders?: unknown[]; azureMonitorExporterOptions: { credential: object } };
    expect(options.spanProcessors).toHaveLength(1);
    expect(options.metricReaders).toHaveLength(1);
    expect(options.azureMonitorExporterOptions.credential.constructor.name).toBe("DefaultAzureCredential");
  });

  it("prints the same metrics and spans to the console when asked, without Application Insights", async () => {
    const printed: unknown[] = [];
    vi.spyOn(console, "dir").mockImplementation((item: unknown) => void printed.push(item));
    const telemetry = await startTelemetry({ telemetry: { console: true } }, undefined, { consoleIntervalMs: 3_600_000 });

    await telemetry.withSpan("gallerywatch.event", { correlationId: CORRELATION_ID }, async () => telemetry.eventHandled("accepted"));
    telemetry.sweepRun(run());
    await flushTelemetry();

    expect(monitor.useAzureMonitor).not.toHaveBeenCalled();
    const metricNames = printed.map((p) => (p as { descriptor?: { name?: string } }).descriptor?.name).filter(Boolean);
    expect(metricNames).toEqual(expect.arrayContaining([METRICS.events, METRICS.sweepDuration]));
    const span = printed.find((p) => (p as { name?: string }).name === "gallerywatch.event") as { attributes: Record<string, unknown> } | undefined;
    expect(span?.attributes["gallerywatch.correlation_id"]).toBe(CORRELATION_ID);
  });

  it("goes on without telemetry when the exporter cannot start, and says so without the connection string", async () => {
    monitor.useAzureMonitor.mockImplementationOnce(() => {
      throw new Error(`Invalid connection string ${CONNECTION_STRING}`);
    });
    const warnings: Array<{ object: object; message: string }> = [];
    const telemetry: Telemetry = await startTelemetry({ telemetry: { connectionString: CONNECTION_STRING, console: false } }, undefined, {
      log: { warn: (object, message) => warnings.push({ object, message }) },
    });

    expect(telemetry).toBe(noTelemetry);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings)).not.toContain("00000000-1111-2222-3333-444444444444");
  });
});

describe("telemetry settings", () => {
  const valid = {
    AzureWebJobsStorage: "UseDevelopmentStorage=true",
    GW_WATCHED_SUBSCRIPTIONS: "7d2f3c1a-5b8e-4f6d-9a0c-1e2b3c4d5e6f",
    GW_TEAMS_WEBHOOK_URL: "http://127.0.0.1:7072/webhook?sig=local",
  };

  it("is off by default", () => {
    expect(loadConfig(valid).telemetry).toEqual({ console: false });
  });

  it("reads the connection string and the console flag", () => {
    expect(loadConfig({ ...valid, APPLICATIONINSIGHTS_CONNECTION_STRING: CONNECTION_STRING, GW_TELEMETRY_CONSOLE: "TRUE" }).telemetry).toEqual({ connectionString: CONNECTION_STRING, console: true });
  });

  it("names a bad connection string without echoing it, and a bad console flag", () => {
    let error: unknown;
    try {
      loadConfig({ ...valid, APPLICATIONINSIGHTS_CONNECTION_STRING: `IngestionEndpoint=https://x/;Key=${SECRET}`, GW_TELEMETRY_CONSOLE: "yes" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.map((p) => p.setting).sort()).toEqual(["APPLICATIONINSIGHTS_CONNECTION_STRING", "GW_TELEMETRY_CONSOLE"]);
    expect((error as ConfigError).message).not.toContain(SECRET);
  });
});

describe("infra/monitoring queries", () => {
  const folder = path.resolve(import.meta.dirname, "../../infra/monitoring");
  const queries = readdirSync(folder).filter((f) => f.endsWith(".kql")).sort();
  const text = (file: string) => readFileSync(path.join(folder, file), "utf8");
  /** What a workbook panel runs: the file without its header comment and its `render` line. */
  const panelQuery = (file: string) =>
    text(file)
      .split("\n")
      .filter((line) => !line.startsWith("//") && !/^\|\s*render\b/.test(line))
      .join("\n")
      .trim();

  it("query every metric, and only names the telemetry emits", () => {
    const all = queries.map(text).join("\n");
    for (const name of Object.values(METRICS)) expect(all).toContain(`"${name}"`);
    const known = new Set<string>([...Object.values(METRICS), ...Object.values(SPAN_ATTRIBUTES)]);
    const named = [...all.matchAll(/"(gallerywatch\.[a-z_.]+)"/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThan(0);
    for (const name of named) expect(known).toContain(name);
  });

  it("each open with a header comment and are listed in the folder's README", () => {
    const readme = readFileSync(path.join(folder, "README.md"), "utf8");
    expect(queries.length).toBeGreaterThanOrEqual(8);
    for (const file of queries) {
      expect(text(file).startsWith("// "), file).toBe(true);
      expect(readme, file).toContain(`\`${file}\``);
    }
  });

  it("are what the workbook runs (workbook.json is regenerated by workbook.mjs)", () => {
    const workbook = JSON.parse(readFileSync(path.join(folder, "workbook.json"), "utf8")) as {
      version: string;
      items: Array<{ type: number; name: string; content: { query?: string; timeContextFromParameter?: string } }>;
    };
    expect(workbook.version).toBe("Notebook/1.0");
    const panels = workbook.items.filter((i) => i.type === 3);
    // Every query but the one that takes a pasted correlation id is a panel.
    expect(panels.map((p) => `${p.name}.kql`).sort()).toEqual(queries.filter((q) => q !== "correlation.kql"));
    for (const panel of panels) {
      expect(panel.content.query, panel.name).toBe(panelQuery(`${panel.name}.kql`));
      expect(panel.content.timeContextFromParameter).toBe("TimeRange");
    }
    expect(readFileSync(path.join(folder, "workbook.bicep"), "utf8")).toContain("loadTextContent('workbook.json')");
  });
});
