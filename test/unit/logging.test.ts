import { describe, expect, it } from "vitest";
import { createLogger, invocationLogger } from "../../shared/platform/logging.js";
import { redactSecrets, redactUrl } from "../../shared/platform/redact.js";

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: "debug", destination: { write: (line: string) => void lines.push(line) } });
  return { log, lines, text: () => lines.join("\n"), json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const SECRET = "fakeSecret42";
const WEBHOOK = `https://prod-12.westeurope.logic.azure.com:443/workflows/0a1b/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=${SECRET}`;

describe("logging", () => {
  it("a child per invocation carries invocation id, function name and correlation id", () => {
    const { log, json } = capture();
    invocationLogger(log, { invocationId: "inv-1", functionName: "eventGridResourceEvent", correlationId: "corr-9" }).info("hello");
    expect(json()[0]).toMatchObject({ invocationId: "inv-1", functionName: "eventGridResourceEvent", correlationId: "corr-9", msg: "hello", app: "gallery-watch" });
  });

  it.each([
    ["a webhook URL in a message", (l: ReturnType<typeof capture>["log"]) => l.warn(`posting to ${WEBHOOK} failed`)],
    ["a webhook URL in a field", (l: ReturnType<typeof capture>["log"]) => l.info({ target: WEBHOOK }, "sent")],
    ["a webhookUrl field", (l: ReturnType<typeof capture>["log"]) => l.info({ teams: { webhookUrl: WEBHOOK } }, "config")],
    ["an Authorization header", (l: ReturnType<typeof capture>["log"]) => l.info({ headers: { authorization: `Bearer eyJhbGciOiJSUzI1NiJ9.${SECRET}.sig` } }, "request")],
    ["a bearer token in text", (l: ReturnType<typeof capture>["log"]) => l.info(`token Bearer eyJhbGciOiJSUzI1NiJ9.${SECRET}.x used`)],
    ["an account key in a connection string", (l: ReturnType<typeof capture>["log"]) => l.info({ conn: `DefaultEndpointsProtocol=https;AccountName=gw;AccountKey=${SECRET}==;EndpointSuffix=core.windows.net` }, "storage")],
    ["a secret inside an error", (l: ReturnType<typeof capture>["log"]) => l.error({ err: new Error(`fetch ${WEBHOOK} failed`) }, "delivery failed")],
    ["a nested key", (l: ReturnType<typeof capture>["log"]) => l.info({ storage: { accountKey: `${SECRET}` } }, "x")],
  ])("redacts %s", (_label, write) => {
    const c = capture();
    write(c.log);
    expect(c.lines).toHaveLength(1);
    expect(c.text()).not.toContain(SECRET);
  });

  it("keeps the useful part of a URL", () => {
    expect(redactUrl(WEBHOOK)).toContain("logic.azure.com");
    expect(redactUrl(WEBHOOK)).toContain("sig=***");
    expect(redactUrl("not a url")).toBe("<invalid url>");
    expect(redactSecrets("nothing secret here")).toBe("nothing secret here");
  });
});

describe("one secret list for logs and telemetry", () => {
  it("masks an Application Insights connection string's keys and a client secret in a log line", () => {
    const line = redactSecrets("exporter failed: InstrumentationKey=0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b;IngestionEndpoint=https://x/;ApplicationId=9a8b7c6d-1234-5678-9abc-def012345678 client_secret=s3cr3t-value");
    expect(line).not.toContain("0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b");
    expect(line).not.toContain("9a8b7c6d-1234-5678-9abc-def012345678");
    expect(line).not.toContain("s3cr3t-value");
    expect(line).toContain("IngestionEndpoint=https://x/");
  });
});
