/**
 * `gallery-watch policy` as a person runs it, against one local stack holding the case-study
 * estate: sweep first so the store knows the estate, then generate the policy, validate it
 * against the documented definition structure, and evaluate its rule against requests for the
 * case-study images.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { Ajv } from "ajv";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import type { PolicyAssignmentResource, PolicyDefinitionResource } from "../../shared/domain/policyExport.js";
import { POLICY_ASSIGNMENT_SCHEMA, POLICY_DEFINITION_SCHEMA, POLICY_SCHEMA_AJV_OPTIONS } from "../../shared/domain/policyDefinitionSchema.js";
import { scaleSetRequest, verdict, versionRequest, type PolicyResource } from "../support/policyEvaluator.js";
import { runCli } from "../support/processes.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "gallery-watch-policy-"));
let stack: LocalStack;

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}


function cli(args: readonly string[], timeoutMs = 60_000) {
  return runCli(args, { cwd: dir, settings: stack.settings, timeoutMs });
}

const readJson = <T>(file: string) => JSON.parse(readFileSync(file, "utf8")) as T;
const seed = caseStudySeed(undefined, new Date());
/** The case-study definitions by osState, straight from the seed: what the policy must agree with. */
const definitionsOf = (osState: string) =>
  seed.filter((r) => parseResourceId(r.id).kind === "imageDefinition" && (r.body.properties as { osState: string }).osState === osState).map((r) => parseResourceId(r.id));
const specialized = definitionsOf("Specialized");
const generalized = definitionsOf("Generalized");
const VMSS = () => `/subscriptions/${stack.subscriptionId}/resourceGroups/rg-saas/providers/Microsoft.Compute/virtualMachineScaleSets/web-fleet`;

beforeAll(async () => {
  stack = await startLocalStack({ seed, log: pino({ level: "silent" }) });
});
afterAll(async () => {
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("gallery-watch policy", () => {
  it("before any sweep, writes nothing and says to sweep first", async () => {
    const result = await cli(["policy", "--out", "early/policy.json"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("knows no Specialized image definition");
    expect(result.stderr).toContain("gallery-watch sweep --wait");
    expect(existsSync(path.join(dir, "early"))).toBe(false);
  });

  it("after a sweep, denies the case-study specialized images and allows the generalized one, as a valid policy", async () => {
    expect(specialized.map((d) => d.image).sort()).toEqual(["disk-lab", "emergency-specialized", "gateway-os", "memory-lab", "triage-ws"]);
    expect(generalized.map((d) => d.image)).toEqual(["web-generalized"]);
    const sweep = await cli(["sweep", "--wait", "--timeout", "90"], 120_000);
    expect(sweep.stderr).not.toContain("ERROR");
    expect(sweep.code).toBe(0);

    const result = await cli(["policy", "--out", "out/policy.json", "--output", "json"]);
    expect(result.stderr).not.toContain("ERROR");
    expect(result.code).toBe(0);
    const summary = JSON.parse(result.stdout) as { specializedImageDefinitions: Array<{ id: string }>; validated: boolean; definitionFile: string; assignmentFile: string; commands: string[] };
    expect(summary.validated).toBe(true);
    expect(summary.specializedImageDefinitions.map((d) => parseResourceId(d.id).key).sort()).toEqual(specialized.map((d) => d.key).sort());

    expect(readdirSync(path.join(dir, "out")).sort()).toEqual(["policy.assignment.json", "policy.json", "policy.params.json", "policy.rules.json"]);
    const definition = readJson<PolicyDefinitionResource>(path.join(dir, "out/policy.json"));
    const assignments = readJson<PolicyAssignmentResource[]>(path.join(dir, "out/policy.assignment.json"));
    expect(summary.definitionFile).toBe(path.join(dir, "out/policy.json"));

    const ajv = new Ajv(POLICY_SCHEMA_AJV_OPTIONS);
    const validDefinition = ajv.compile(POLICY_DEFINITION_SCHEMA);
    const validAssignment = ajv.compile(POLICY_ASSIGNMENT_SCHEMA);
    expect(validDefinition(definition), JSON.stringify(validDefinition.errors)).toBe(true);
    expect(assignments).toHaveLength(1);
    expect(validAssignment(assignments[0]), JSON.stringify(validAssignment.errors)).toBe(true);
    expect(assignments[0]!.properties.policyDefinitionId).toBe(`/subscriptions/${stack.subscriptionId}/providers/Microsoft.Authorization/policyDefinitions/${definition.name}`);
    expect(readJson(path.join(dir, "out/policy.rules.json"))).toEqual(definition.properties.policyRule);
    expect(readJson(path.join(dir, "out/policy.params.json"))).toEqual(definition.properties.parameters);

    for (const d of specialized) {
      expect(verdict(definition, scaleSetRequest(VMSS(), d.display)), d.display).toBe("Deny");
      expect(verdict(definition, scaleSetRequest(VMSS(), `${d.display}/versions/1.0.0`)), d.display).toBe("Deny");
      expect(verdict(definition, scaleSetRequest(VMSS(), d.display, { "gallery-watch-exception": "reason=CAB-1234;expires=2026-12-31" })), d.display).toBe("allowed");
      expect(verdict(definition, versionRequest(`${d.display}/versions/9.0.0`, ["West Europe", "North Europe", "East US"])), d.display).toBe("Deny");
    }
    for (const d of generalized) {
      expect(verdict(definition, scaleSetRequest(VMSS(), d.display))).toBe("allowed");
      expect(verdict(definition, scaleSetRequest(VMSS(), `${d.display}/versions/2.0.0`))).toBe("allowed");
      expect(verdict(definition, versionRequest(`${d.display}/versions/9.0.0`, ["West Europe", "North Europe", "East US"]))).toBe("allowed");
    }
    // The estate as ARM serves it: within GW_MAX_REGIONS under the specialized definitions, three
    // regions only under the generalized one, so the policy would have allowed every version in it.
    const versions = stack.arm.estate.list().filter((r) => parseResourceId(r.id).kind === "imageVersion");
    expect(versions).toHaveLength(8);
    for (const v of versions) {
      const body = v.body as { type?: string; tags?: Record<string, string>; properties?: unknown };
      const asServed: PolicyResource = { type: body.type ?? "Microsoft.Compute/galleries/images/versions", id: v.id, tags: body.tags ?? {}, properties: body.properties };
      expect(verdict(definition, asServed), v.id).toBe("allowed");
    }

    expect(result.stderr).toMatch(/WARNING: Azure Policy cannot read the exception tag's value: a resource carrying the tag 'gallery-watch-exception' is exempt whatever its reason or expiry/);
    expect(summary.commands).toHaveLength(2);
    expect(result.stderr).toContain(`az policy definition create --subscription ${stack.subscriptionId} --name ${definition.name}`);
    expect(result.stderr).toContain("--rules out/policy.rules.json --params out/policy.params.json");
    expect(result.stderr).toContain(`az policy assignment create --name ${assignments[0]!.name}`);
  }, 180_000);

  it("with --effect audit, audits instead, and shows the definitions as a table", async () => {
    const result = await cli(["policy", "--out", "audit.json", "--effect", "audit"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^ImageDefinition\s+KnownFrom\s+Effect$/m);
    expect(result.stdout.trim().split("\n")).toHaveLength(2 + specialized.length);
    const definition = readJson<PolicyDefinitionResource>(path.join(dir, "audit.json"));
    const assignments = readJson<PolicyAssignmentResource[]>(path.join(dir, "audit.assignment.json"));
    expect(definition.properties.parameters.effect.defaultValue).toBe("Audit");
    expect(assignments[0]!.properties.parameters.effect).toEqual({ value: "Audit" });
    expect(verdict(definition, scaleSetRequest(VMSS(), specialized[0]!.display), assignments[0]!.properties.parameters)).toBe("Audit");
  });

  it("refuses to run without --out, and lists itself in --help", async () => {
    const missing = await cli(["policy"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("required option '--out <file>' not specified");
    const help = await cli(["--help"]);
    expect(help.stdout).toMatch(/^\s+policy \[options\]/m);
  });
});
