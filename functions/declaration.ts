/**
 * One declaration per function: `functions/index.ts` registers each with `app.*` for the Azure
 * Functions host, and `local/host.ts` serves the very same objects when there is no host
 * (`@azure/functions` discards `app.*` registrations outside the Functions runtime).
 *
 * Trigger settings may be binding expressions (`%GW_SWEEP_SCHEDULE%`) resolved from app settings,
 * exactly as the Functions host resolves them.
 */
import type { EventGridEvent, HttpMethod, HttpRequest, HttpResponseInit, InvocationContext, Timer } from "@azure/functions";
import { InvalidEventError } from "../shared/app/inputs.js";

export type FunctionDeclaration =
  | {
      readonly name: string;
      readonly trigger: { readonly kind: "eventGrid" };
      /** One event per invocation (Event Grid schema or CloudEvents 1.0, as delivered). Throw to have Event Grid retry. */
      readonly handler: (event: EventGridEvent | Record<string, unknown>, context: InvocationContext) => Promise<void>;
    }
  | {
      readonly name: string;
      readonly trigger: { readonly kind: "timer"; readonly schedule: string; readonly runOnStartup?: boolean };
      readonly handler: (timer: Timer, context: InvocationContext) => Promise<void>;
    }
  | {
      readonly name: string;
      /** `connection` names the app setting prefix, as in Functions (`AzureWebJobsStorage`). Messages are Base64 on the wire. */
      readonly trigger: { readonly kind: "storageQueue"; readonly queueName: string; readonly connection: string };
      /** Throw to have the message retried (up to 5 dequeues, then `<queue>-poison`, as in Functions). */
      readonly handler: (message: unknown, context: InvocationContext) => Promise<void>;
    }
  | {
      readonly name: string;
      readonly trigger: {
        readonly kind: "http";
        readonly methods: readonly HttpMethod[];
        /** Route under `/api/`, Functions route-template syntax: `resources/{key}/history`. */
        readonly route: string;
      };
      readonly handler: (request: HttpRequest, context: InvocationContext) => Promise<HttpResponseInit>;
    };

/** Resolve `%NAME%` binding expressions from app settings; throws naming the missing setting. */
export function resolveBindingExpression(value: string, settings: Readonly<Record<string, string | undefined>>): string {
  return value.replace(/%([A-Za-z0-9_]+)%/g, (_, name: string) => {
    const resolved = settings[name];
    if (resolved === undefined || resolved === "") throw new Error(`binding expression %${name}% has no app setting '${name}'`);
    return resolved;
  });
}

type Of<K extends FunctionDeclaration["trigger"]["kind"]> = Extract<FunctionDeclaration, { trigger: { kind: K } }>;

/** Typed constructors, so each function file states its trigger once and gets typed arguments. */
export const eventGridFunction = (name: string, handler: Of<"eventGrid">["handler"]): Of<"eventGrid"> => ({ name, trigger: { kind: "eventGrid" }, handler });
export const timerFunction = (name: string, schedule: string, handler: Of<"timer">["handler"]): Of<"timer"> => ({ name, trigger: { kind: "timer", schedule }, handler });
export const queueFunction = (name: string, queueName: string, handler: Of<"storageQueue">["handler"]): Of<"storageQueue"> => ({
  name,
  trigger: { kind: "storageQueue", queueName, connection: "AzureWebJobsStorage" },
  handler,
});
export const httpFunction = (name: string, methods: readonly HttpMethod[], route: string, handler: Of<"http">["handler"]): Of<"http"> => ({ name, trigger: { kind: "http", methods, route }, handler });

/** A malformed queue message is acknowledged with one log line; retrying it would only poison the queue later. */
export function decodeQueueMessage<T>(decode: (message: unknown) => T, message: unknown, context: InvocationContext): T | undefined {
  try {
    return decode(message);
  } catch (error) {
    if (!(error instanceof InvalidEventError)) throw error;
    context.warn(`queue message refused: ${error.reason}`);
    return undefined;
  }
}
