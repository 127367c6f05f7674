/**
 * The AccessReader port over @azure/arm-authorization — the only file that imports it. Who can use
 * an image definition, for `broad-access`:
 * - the role assignments that apply to the definition — at, above and below it — in one listing
 *   (`roleAssignments.listForScope` without a filter: ARM answers "all role assignments that apply
 *   to a scope", at, above and below; authorization-RoleAssignmentsCalls.json 2022-04-01);
 * - each role definition they name, by id (`roleDefinitions.getById`), read in every invocation
 *   and never kept across invocations: custom roles change, and a role read an hour ago may grant
 *   more or less today. Within one reader (one invocation or sweep run) each is read once;
 * - the subscription's tenant (`GET /subscriptions/{id}`, through the same client and pipeline):
 *   a group whose object id is the tenant's is the whole directory.
 * Requests go through the ARM transport the compute reader uses (armTransport.ts: the simulator's
 * certificate, timeouts, the shared read budget, long Retry-After → throttled), and failures are
 * translated the same one way (404 → gone, 401/403 → noAccess, 429 → throttled, else failed).
 * Group membership is not read: Microsoft Graph is out of scope.
 */
import { AuthorizationManagementClient, type RoleAssignment, type RoleDefinition } from "@azure/arm-authorization";
import { createPipelineRequest } from "@azure/core-rest-pipeline";
import type { AccessFacts, RoleAssignmentFact, RoleDefinitionFact } from "../../domain/access.js";
import { roleDefinitionName } from "../../domain/access.js";
import type { ResourceId } from "../../domain/resourceId.js";
import type { AccessReader, ReadOutcome } from "../../app/ports.js";
import { armClientsBySubscription, armReaderSettings, outcomeOf, type ArmReaderOptions } from "./armTransport.js";

/** The access reader's options: those of every ARM reader (armTransport.ts); pass the compute reader's budget (one principal, one ARM bucket). */
export type AccessReaderOptions = ArmReaderOptions;

/** Microsoft.Resources subscriptions: the api-version the Azure CLI sends for `az account show`. */
const SUBSCRIPTIONS_API_VERSION = "2022-12-01";

/** One reader per invocation or sweep run; clients are shared (stateless and pooled). */
export function authorizationAccessReaderFactory(options: AccessReaderOptions): () => AccessReader {
  const endpoint = (options.endpoint ?? "https://management.azure.com").replace(/\/+$/, "");
  const settings = { ...armReaderSettings(options), endpoint };
  const { timeoutMs, maxRetries } = settings;

  const client = armClientsBySubscription((subscriptionId, clientOptions) => new AuthorizationManagementClient(options.credential, subscriptionId, clientOptions), settings);
  const abortSignal = () => AbortSignal.timeout(timeoutMs * (maxRetries + 1) + 5_000);
  /** Reads the SDK has no operation for, sent through the same client and pipeline (named as infra/watch/readerActions.json lists them). */
  const arm = {
    subscriptions: {
      /** The subscription's tenant (`GET /subscriptions/{id}`: Microsoft.Resources/subscriptions/read). */
      async get(subscriptionId: string): Promise<string | undefined> {
        const response = await client(subscriptionId).sendRequest(createPipelineRequest({ url: `${endpoint}/subscriptions/${subscriptionId}?api-version=${SUBSCRIPTIONS_API_VERSION}`, method: "GET", abortSignal: abortSignal() }));
        if (response.status === 404) return undefined;
        if (response.status >= 400) throw Object.assign(new Error(`subscriptions.get: ${response.status} ${(response.bodyAsText ?? "").slice(0, 200)}`), { statusCode: response.status, response });
        const tenantId = (JSON.parse(response.bodyAsText ?? "{}") as { tenantId?: unknown }).tenantId;
        return typeof tenantId === "string" ? tenantId.toLowerCase() : undefined;
      },
    },
  };

  return () => {
    // This reader's own reads only: a role definition is read once per invocation, never kept beyond it.
    const roles = new Map<string, Promise<RoleDefinitionFact | undefined>>();
    const tenants = new Map<string, Promise<string | undefined>>();

    const roleOf = (subscriptionId: string, roleDefinitionId: string) => {
      const key = roleDefinitionName(roleDefinitionId);
      let read = roles.get(key);
      if (!read) {
        read = client(subscriptionId)
          .roleDefinitions.getById(relative(roleDefinitionId), { abortSignal: abortSignal() })
          .then(toRoleFact)
          .catch((error: unknown) => {
            // A role that no longer exists grants nothing ARM would honour, but what it granted is unknown here: unresolved.
            if (outcomeOf(undefined, "roleDefinitions.getById", error).status === "gone") return undefined;
            throw error;
          });
        roles.set(key, read);
      }
      return read;
    };

    const tenantOf = (subscriptionId: string) => {
      let read = tenants.get(subscriptionId);
      if (!read) {
        read = arm.subscriptions.get(subscriptionId);
        tenants.set(subscriptionId, read);
      }
      return read;
    };

    return {
      async readAccess(scope: ResourceId): Promise<ReadOutcome<AccessFacts>> {
        try {
          const tenant = tenantOf(scope.subscriptionId);
          tenant.catch(() => undefined);
          const assignments: RoleAssignmentFact[] = [];
          for await (const a of client(scope.subscriptionId).roleAssignments.listForScope(relative(scope.display), { abortSignal: abortSignal() })) {
            const fact = toAssignmentFact(a);
            if (fact) assignments.push(fact);
          }
          const named = [...new Map(assignments.map((a) => [roleDefinitionName(a.roleDefinitionId), a.roleDefinitionId] as const)).values()];
          const roleDefinitions = (await Promise.all(named.map((id) => roleOf(scope.subscriptionId, id)))).filter((r): r is RoleDefinitionFact => r !== undefined);
          const tenantId = await tenant;
          return { status: "found", snapshot: { assignments, roleDefinitions, ...(tenantId ? { tenantId } : {}) } };
        } catch (error) {
          const outcome = outcomeOf(scope, "roleAssignments.listForScope", error);
          // The scope itself is gone (404 on the listing): nothing to judge there; the definition's own read says so.
          return outcome;
        }
      },
    };
  };
}

/**
 * A scope or id as the SDK's `{scope}` / `{roleId}` path parameter takes it: without its leading `/`
 * (the spec's examples: `subscriptions/{id}/…`), or the client sends `//subscriptions/…`.
 */
function relative(id: string): string {
  return id.replace(/^\/+/, "");
}

function toAssignmentFact(a: RoleAssignment): RoleAssignmentFact | undefined {
  if (!a.id || !a.principalId || !a.roleDefinitionId) return undefined;
  const scope = a.scope ?? a.id.replace(/\/providers\/Microsoft\.Authorization\/roleAssignments\/[^/]+$/i, "");
  return { id: a.id, scope: scope === "" ? "/" : scope, principalId: a.principalId, roleDefinitionId: a.roleDefinitionId, ...(a.principalType ? { principalType: a.principalType } : {}) };
}

function toRoleFact(r: RoleDefinition): RoleDefinitionFact {
  return {
    id: r.id ?? r.name ?? "",
    roleName: r.roleName ?? r.name ?? "role",
    permissions: (r.permissions ?? []).map((p) => ({ actions: p.actions ?? [], notActions: p.notActions ?? [] })),
  };
}
