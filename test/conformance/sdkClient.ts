/**
 * A real `@azure/arm-compute` client aimed at the simulated ARM: its CA is trusted for this client
 * only (a per-retry policy sets the agent, as shared/adapters/arm/computeArmInventory.ts does), never
 * process-wide.
 */
import https from "node:https";
import { ComputeManagementClient } from "@azure/arm-compute";
import { localDevCredential } from "../../local/localCredential.js";
import type { ArmEndpoint } from "./armHttp.js";

export function sdkClient(arm: ArmEndpoint, subscriptionId: string, options: { maxRetries?: number } = {}): ComputeManagementClient {
  const agent = new https.Agent({ ca: arm.caCertPem, keepAlive: true });
  return new ComputeManagementClient(localDevCredential(), subscriptionId, {
    endpoint: arm.url,
    retryOptions: { maxRetries: options.maxRetries ?? 0, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
    additionalPolicies: [
      {
        position: "perRetry",
        policy: {
          name: "conformanceSimulatorAgent",
          sendRequest(request, next) {
            request.agent = agent;
            return next(request);
          },
        },
      },
    ],
  });
}
