/**
 * pino JSON logs. One root logger per process; a child per invocation carrying invocation id,
 * function name and correlation id. Secrets are redacted twice over: known paths are censored,
 * and every string that looks like a secret (sig=, AccountKey=, Bearer …) is scrubbed, including
 * inside error messages and stacks.
 */
import { pino, type DestinationStream, type Logger } from "pino";
import { redactSecrets } from "./redact.js";

export type { Logger } from "pino";

const REDACT_PATHS = [
  "authorization", "*.authorization", "headers.authorization", "*.headers.authorization", "req.headers.authorization",
  "token", "*.token", "accessToken", "*.accessToken", "key", "*.key", "accountKey", "*.accountKey",
  "connectionString", "*.connectionString", "password", "*.password", "secret", "*.secret",
  "webhookUrl", "*.webhookUrl", "criticalWebhookUrl", "*.criticalWebhookUrl",
];

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return redactSecrets(value);
  if (depth > 6 || value === null || typeof value !== "object") return value;
  if (value instanceof Error) return { type: value.name, message: redactSecrets(value.message), stack: redactSecrets(value.stack ?? "") };
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, depth + 1)]));
}

export function createLogger(options: { level: string; destination?: DestinationStream; base?: Record<string, unknown> }): Logger {
  return pino(
    {
      level: options.level,
      base: { app: "gallery-watch", ...options.base },
      redact: { paths: REDACT_PATHS, censor: "***" },
      formatters: { log: (object) => scrub(object) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === "string" ? redactSecrets(a) : a)) as Parameters<typeof method>);
        },
      },
      serializers: { err: (e: unknown) => scrub(e) },
    },
    options.destination,
  );
}

export function invocationLogger(root: Logger, context: { invocationId: string; functionName: string; correlationId?: string }): Logger {
  return root.child({ invocationId: context.invocationId, functionName: context.functionName, ...(context.correlationId ? { correlationId: context.correlationId } : {}) });
}
