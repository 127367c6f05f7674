/**
 * Who can use a specialized image, end to end through the local stack (issue 20 point 4): a REST
 * PUT of a role assignment granting Reader on the plant's gallery to a principal outside
 * GW_APPROVED_IMAGE_USERS → the simulated ARM's `Microsoft.Authorization/roleAssignments/write`
 * event → the function → a `broad-access` card on the specialized definition naming the principal,
 * the assignment and the `az role assignment delete` that fixes it; deleting the assignment
 * resolves it.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pino } from "pino";
import { startLocalStack, type LocalStack } from "../../local/stack.js";
import { caseStudySeed } from "../../local/scenarios/caseStudies.js";
import { CALLERS, rg } from "../../local/scenarios/replay.js";
import { armWrite } from "../../local/armWrite.js";
import { waitUntilQuiet } from "../../local/quiet.js";
import { cardTexts, cardWithin as waitForCard } from "../support/adaptiveCards.js";
import { READER_ROLE_ID } from "../../local/armSimulator/builtInRoles.js";

const OPERATORS = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
const PIPELINE = "2b3c4d5e-6f70-4182-9a3b-4c5d6e7f8091";

let s: LocalStack;
beforeAll(async () => {
  s = await startLocalStack({ seed: caseStudySeed(undefined, new Date()), log: pino({ level: "silent" }), settings: { GW_APPROVED_IMAGE_USERS: OPERATORS } });
});
afterAll(async () => s?.close());

const contents = (from: number) => cardTexts(s.inbox, from);
const cardWithin = (from: number, text: string, ms: number) => waitForCard(s.inbox, from, text, ms);

describe("a role assignment on the plant's gallery", () => {
  it("granting Reader to a pipeline identity outside the approved list raises broad-access naming it; deleting the assignment resolves it", async () => {
    // The definitions are recorded once the sweep has seen them (as every night); nobody can use them yet.
    await s.host.invoke("nightlySweep");
    await waitUntilQuiet(s);
    const gallery = `${rg(s, "rg-plant")}/galleries/plantGallery`;
    const assignment = `${gallery}/providers/Microsoft.Authorization/roleAssignments/5a6b7c8d-9e0f-4a1b-8c2d-3e4f5a6b7c8d`;
    const before = s.inbox.cards().length;
    const started = Date.now();
    await armWrite(s.arm, CALLERS.sam, "PUT", assignment, {
      properties: { roleDefinitionId: `/subscriptions/${s.subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${READER_ROLE_ID}`, principalId: PIPELINE, principalType: "ServicePrincipal" },
    });
    const card = await cardWithin(before, "Opened: broad-access (high)", 10_000);
    expect(card, `no broad-access card (cards: ${contents(before).join(" | ").slice(0, 600)})`).toBeDefined();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(card).toContain("gateway-os");
    expect(card).toContain(PIPELINE);
    expect(card).toContain(`az role assignment delete --ids ${assignment}`);
    expect(card).toContain("Microsoft Graph is out of scope");
    expect(card).toContain("Sam Okafor");
    await waitUntilQuiet(s);

    const beforeDelete = s.inbox.cards().length;
    await armWrite(s.arm, CALLERS.sam, "DELETE", assignment);
    expect(await cardWithin(beforeDelete, "Resolved: broad-access", 10_000)).toBeDefined();
    await waitUntilQuiet(s);
  });
});
