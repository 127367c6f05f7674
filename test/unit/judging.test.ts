/**
 * The judging path (event, re-check and sweep) through in-memory adapters of its ports: one
 * judging use case, one failure policy for every ARM read, nothing resolved or raised on a guess.
 * Each case is a defect the verdicts issue reproduced against the local stack.
 */
import { beforeEach, describe, expect, it } from "vitest";
import { parseResourceId } from "../../shared/domain/resourceId.js";
import { checkResource } from "../../shared/app/checkResource.js";
import { checkCoalesced } from "../../shared/app/admission.js";
import { sweepSubscription } from "../../shared/app/sweepSubscription.js";
import { handleResourceEvent, type EventSettings } from "../../shared/app/handleResourceEvent.js";
import { contentHashOf } from "../../shared/domain/contentHash.js";
import { ArmReadError } from "../../shared/domain/errors.js";
import { aWorld, type World } from "../support/inMemoryPorts.js";
import { APPROVED, BASE, SUB, aDefinition, aGallery, aScaleSet, aVersion, policy, regions } from "../support/snapshotBuilders.js";

const OTHER_SUB = "99999999-1111-2222-3333-444444444444";
const settings: EventSettings = {
  policy: policy(),
  portalUrl: "https://portal.example.test",
  recheckDelaySeconds: 60,
  recheckMaxAttempts: 3,
  maxEventBytes: 1024 * 1024,
  watchedSubscriptions: new Set([SUB]),
};
const event = { source: "event", attribution: { eventId: "e-1", eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-24T12:00:00Z", callerUpn: "priya@contoso.example" } } as const;

function rawEvent(resourceUri: string, operationName: string, eventType = "Microsoft.Resources.ResourceWriteSuccess", id = "evt-1"): Record<string, unknown> {
  return {
    id,
    topic: `/subscriptions/${SUB}`,
    subject: resourceUri,
    eventType,
    eventTime: "2026-11-24T12:00:00Z",
    dataVersion: "2",
    metadataVersion: "1",
    data: { operationName, resourceUri, status: "Succeeded", correlationId: "corr-1", claims: { name: "Priya Patel" } },
  };
}

const community = aGallery({ sharing: { permissions: "Community", groups: [], community: { enabled: true, publicNames: ["gal-1234"] } } });
const specialized = aDefinition();
const overReplicated = aVersion({ targetRegions: regions("West Europe", "North Europe", "East US", "West US") });

let world: World;
beforeEach(() => {
  world = aWorld();
});

describe("the sweep and the event path judge alike", () => {
  it("a sweep never resolves shared-outside on a Community gallery, although Azure's lists carry no sharingProfile (Gallery_ListBySubscription.json)", async () => {
    world.azure.put(community, specialized);
    await checkResource(world.deps(), settings, community.id, event);
    expect(world.findings.of("shared-outside", community.id)?.status).toBe("open");

    const run = await sweepSubscription(world.deps(), settings, SUB, "run-1");

    expect(world.findings.of("shared-outside", community.id)?.status).toBe("open");
    expect(run.transitions.resolved ?? 0).toBe(0);
    expect([...world.outbox.alerts.values()].filter((a) => a.transition.kind === "resolved")).toEqual([]);
  });

  it("a gallery whose sharing ARM did not return is unknown: its shared-outside finding is neither resolved nor raised", async () => {
    world.azure.put(community, specialized);
    await checkResource(world.deps(), settings, community.id, event);
    world.azure.put(aGallery({ sharing: { permissions: "Unknown", groups: [] } }));

    const outcome = await checkResource(world.deps(), settings, community.id, { ...event, attribution: { ...event.attribution, eventId: "e-2" } });

    expect(outcome.transitions).toEqual([]);
    expect(world.findings.of("shared-outside", community.id)?.status).toBe("open");
  });

  it("a scale set on a Generalized image in an unwatched subscription gets the same verdict — none — from its event and from the sweep", async () => {
    const foreignDefinition = parseResourceId(`/subscriptions/${OTHER_SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/shared/images/base`);
    const scaleSet = aScaleSet({ imageReference: { kind: "definition", definitionId: foreignDefinition } });
    world.azure.put(scaleSet, aDefinition({ id: foreignDefinition, osState: "Generalized" }));

    await checkResource(world.deps(), settings, scaleSet.id, event);
    const run = await sweepSubscription(world.deps(), settings, SUB, "run-1");
    await checkResource(world.deps(), settings, scaleSet.id, { ...event, attribution: { ...event.attribution, eventId: "e-3" } });

    expect(world.findings.findings.size).toBe(0);
    expect(run.transitions).toEqual({});
  });
});

describe("reconciliation", () => {
  it("a version deleted with its event lost has its findings resolved by the sweep, 'found missing by the sweep'", async () => {
    world.azure.put(aGallery(), specialized, overReplicated);
    await checkResource(world.deps(), settings, overReplicated.id, event);
    expect(world.findings.of("replication-breadth", overReplicated.id)?.status).toBe("open");
    world.azure.remove(overReplicated.id);

    const run = await sweepSubscription(world.deps(), settings, SUB, "run-1");

    const finding = world.findings.of("replication-breadth", overReplicated.id);
    expect(finding?.status).toBe("resolved");
    expect(finding?.facts.resolution).toBe("found missing by the sweep");
    expect(run.reconciled).toBe(1);
    expect(await world.resources.current(overReplicated.id.key)).toBeUndefined();
    expect(world.resources.changeRows.at(-1)).toMatchObject({ resourceKey: overReplicated.id.key, action: "deleted", trigger: { source: "sweep", runId: "run-1" } });
  });

  it("a resource-group delete (one event, none for the children) resolves every stored resource under the group", async () => {
    world.azure.put(community, specialized, overReplicated);
    await checkResource(world.deps(), settings, overReplicated.id, event);
    await checkResource(world.deps(), settings, community.id, event);
    for (const s of [community, specialized, overReplicated]) world.azure.remove(s.id);

    const result = await handleResourceEvent(world.deps(), settings, rawEvent(`/subscriptions/${SUB}/resourceGroups/rg`, "Microsoft.Resources/subscriptions/resourceGroups/delete", "Microsoft.Resources.ResourceDeleteSuccess"));

    expect(result.disposition).toBe("accepted");
    expect(world.findings.of("replication-breadth", overReplicated.id)).toMatchObject({ status: "resolved", facts: { resolution: "resource group deleted" } });
    expect(world.findings.of("shared-outside", community.id)?.status).toBe("resolved");
    expect(await world.resources.current(community.id.key)).toBeUndefined();
  });

  it("nothing under a listing that failed is resolved, and one bad gallery does not stop the rest of the run", async () => {
    const bad = aGallery({ id: parseResourceId(`${BASE}/galleries/bad`) });
    const badVersion = aVersion({ id: parseResourceId(`${BASE}/galleries/bad/images/def/versions/1.0.0`), targetRegions: overReplicated.targetRegions });
    const badDefinition = aDefinition({ id: parseResourceId(`${BASE}/galleries/bad/images/def`) });
    const scaleSet = aScaleSet();
    world.azure.put(bad, badDefinition, badVersion, aGallery(), specialized, overReplicated, scaleSet);
    await checkResource(world.deps(), settings, badVersion.id, event);
    world.azure.fault(`list:${bad.id.key}`, "failed");

    const run = await sweepSubscription({ ...world.deps() }, { ...settings, sweepAttempts: 2, sweepBackoffMs: 1 }, SUB, "run-1");

    expect(run.status).toBe("partial");
    // Its own verdict needs its definitions (shared-outside), and the listing of its children failed: both are recorded.
    expect(run.failures.map((f) => [f.resourceId, f.operation])).toEqual([
      [bad.id.display, "judge"],
      [bad.id.display, "galleryImages.listByGallery"],
    ]);
    expect(run.failures[0]?.reason).toContain("failed (injected)");
    expect(run.seen).toMatchObject({ galleries: 2, scaleSets: 1 });
    expect(world.findings.of("replication-breadth", overReplicated.id)?.status).toBe("open");
    expect(world.findings.of("scale-set-use", scaleSet.id)?.status).toBe("open");
    expect(world.findings.of("replication-breadth", badVersion.id)?.status).toBe("open");
    expect(run.reconciled).toBe(0);
    expect(world.sweepRuns.runs.get(`${SUB}|run-1`)).toEqual(run);
  });
});

describe("one failure policy for every ARM read", () => {
  it("a throttled read of a scale set's Generalized definition fails the invocation for a retry and opens nothing", async () => {
    const generalized = aDefinition({ osState: "Generalized" });
    const scaleSet = aScaleSet();
    world.azure.put(generalized, scaleSet);
    world.azure.fault(generalized.id.key, "throttled");

    await expect(checkResource(world.deps(), settings, scaleSet.id, event)).rejects.toBeInstanceOf(ArmReadError);
    expect(world.findings.findings.size).toBe(0);
    expect(world.outbox.alerts.size).toBe(0);
  });

  it("a definition whose osState ARM did not return is unknown: no version rule raises or resolves anything", async () => {
    world.azure.put(aGallery(), specialized, overReplicated);
    await checkResource(world.deps(), settings, overReplicated.id, event);
    world.azure.put(aDefinition({ osState: "Unknown" }), aVersion({ targetRegions: regions("West Europe", "North Europe", "East US", "West US", "Japan East"), excludeFromLatest: false, tags: {} }));

    const outcome = await checkResource(world.deps(), settings, overReplicated.id, { ...event, attribution: { ...event.attribution, eventId: "e-2" } });

    expect(outcome.transitions).toEqual([]);
    expect([...world.findings.findings.values()].map((f) => [f.ruleId, f.status])).toEqual([["replication-breadth", "open"]]);
  });

  it("a 403 on the subscription holding a scale set's image raises a blind spot naming it, with no retry and no scale-set-use verdict", async () => {
    const foreignDefinition = parseResourceId(`/subscriptions/${OTHER_SUB}/resourceGroups/rg-img/providers/Microsoft.Compute/galleries/shared/images/base`);
    const scaleSet = aScaleSet({ imageReference: { kind: "definition", definitionId: foreignDefinition } });
    world.azure.put(scaleSet, aDefinition({ id: foreignDefinition }));
    await checkResource(world.deps(), settings, scaleSet.id, event);
    expect(world.findings.of("scale-set-use", scaleSet.id)?.status).toBe("open");
    world.azure.fault(foreignDefinition.key, "noAccess");

    const outcome = await checkResource(world.deps(), settings, scaleSet.id, { ...event, attribution: { ...event.attribution, eventId: "e-2" } });

    expect(outcome.status).toBe("evaluated");
    const blind = world.findings.of("read-access", scaleSet.id);
    expect(blind).toMatchObject({ status: "open", facts: { unreadable: foreignDefinition.display } });
    expect(blind?.remediation.commands[0]).toContain(`--scope /subscriptions/${OTHER_SUB}/resourceGroups/rg-img`);
    expect(world.findings.of("scale-set-use", scaleSet.id)?.status).toBe("open");

    world.azure.fault(foreignDefinition.key, undefined);
    await checkResource(world.deps(), settings, scaleSet.id, { ...event, attribution: { ...event.attribution, eventId: "e-3" } });
    expect(world.findings.of("read-access", scaleSet.id)?.status).toBe("resolved");
  });

  it("a failed read of a version's definition is retried by the platform, never judged as Unknown", async () => {
    world.azure.put(aGallery(), specialized, overReplicated);
    world.azure.fault(specialized.id.key, "failed");
    await expect(checkResource(world.deps(), settings, overReplicated.id, event)).rejects.toBeInstanceOf(ArmReadError);
    expect(world.findings.findings.size).toBe(0);
  });
});

describe("what depends on a resource", () => {
  it("a new version under a definition a scale set follows as latest re-resolves the scale set's stored image", async () => {
    const scaleSet = aScaleSet();
    const v1 = aVersion({ version: "1.0.0", excludeFromLatest: false });
    world.azure.put(aGallery(), specialized, v1, scaleSet);
    await checkResource(world.deps(), settings, scaleSet.id, event);
    const before = await world.resources.current(scaleSet.id.key);
    expect(before?.kind === "scaleSet" && before.image.outcome === "resolved" ? before.image.versionId : undefined).toBe(v1.id.display);

    const v2 = aVersion({ version: "1.1.0", excludeFromLatest: false });
    world.azure.put(v2);
    await checkResource(world.deps(), settings, v2.id, { ...event, attribution: { ...event.attribution, eventId: "e-2" } });

    const after = await world.resources.current(scaleSet.id.key);
    expect(after?.kind === "scaleSet" && after.image.outcome === "resolved" ? after.image.versionId : undefined).toBe(v2.id.display);
  });
});

describe("a follower judged from the store never undoes a newer state", () => {
  it("a scale set moved to a generalized image by its own event, while a version event re-judges it from its older stored state, stays resolved", async () => {
    const scaleSet = aScaleSet();
    const v1 = aVersion({ version: "1.0.0", excludeFromLatest: false });
    const generalized = aDefinition({ name: "gen", osState: "Generalized" });
    world.azure.put(aGallery(), specialized, generalized, v1, scaleSet);
    await checkResource(world.deps(), settings, scaleSet.id, event);
    expect(world.findings.of("scale-set-use", scaleSet.id)?.status).toBe("open");

    // The scale set moves to the generalized image; its own event is judged while the version
    // event's dependents pass holds the follower as it was stored before.
    const moved = aScaleSet({ definition: "gen", image: { outcome: "resolved", definitionId: generalized.id.display, osState: "Generalized" } });
    world.azure.put(moved, aVersion({ version: "1.0.0", excludeFromLatest: true }));
    const listFollowers = world.resources.machinesReferencing.bind(world.resources);
    world.resources.machinesReferencing = async (key) => {
      const followers = await listFollowers(key);
      await checkResource(world.deps(), settings, scaleSet.id, { ...event, attribution: { ...event.attribution, eventId: "e-scale-set" } });
      return followers;
    };
    const outcome = await checkResource(world.deps(), settings, v1.id, { ...event, attribution: { ...event.attribution, eventId: "e-version" } });

    expect(world.findings.of("scale-set-use", scaleSet.id)?.status).toBe("resolved");
    expect(outcome.transitions.filter((t) => t.after.resourceKey === scaleSet.id.key)).toEqual([]);
    const current = await world.resources.current(scaleSet.id.key);
    expect(current?.kind === "scaleSet" && current.image.outcome === "resolved" ? current.image.definitionId : undefined).toBe(generalized.id.display);
  });
});

describe("only what is watched, exactly as Azure names it", () => {
  it("events for a subscription nobody watches are ignored: no ARM read, no change row, no finding", async () => {
    const foreign = `/subscriptions/${OTHER_SUB}/resourceGroups/rg/providers/Microsoft.Compute/galleries/gal`;
    const result = await handleResourceEvent(world.deps(), settings, rawEvent(foreign, "Microsoft.Compute/galleries/write"));
    expect(result.disposition).toBe("ignored");
    expect(world.azure.requests).toBe(0);
    expect(world.resources.changeRows).toEqual([]);
    expect(world.findings.findings.size).toBe(0);
  });

  it("a tag edit through the Tags API re-reads the tagged resource", async () => {
    world.azure.put(aGallery(), specialized, aVersion({ tags: { ...APPROVED } }));
    const version = aVersion();
    await checkResource(world.deps(), settings, version.id, event);
    world.azure.put(aVersion({ tags: {} }));

    const result = await handleResourceEvent(world.deps(), settings, rawEvent(`${version.id.display}/providers/Microsoft.Resources/tags/default`, "Microsoft.Resources/tags/write"));

    expect(result.disposition).toBe("accepted");
    expect(world.findings.of("governance-tags", version.id)?.status).toBe("open");
  });

  it("ids that differ only in case describe the same content", () => {
    const lower = aVersion({ id: parseResourceId(`${BASE}/galleries/gal/images/def/versions/1.0.0`.replace("resourceGroups/rg", "resourceGroups/RG")) });
    expect(contentHashOf(lower)).toBe(contentHashOf(aVersion()));
  });
});

describe("a 404 is a deletion only when a delete event, the sweep or repeated 404s say so", () => {
  const versionId = overReplicated.id;
  const recheck = (attempt: number) => ({ source: "recheck", attempt, attribution: event.attribution }) as const;

  it("a recorded version answering 404 right after a write event is re-checked, and recorded deleted only after its last re-check", async () => {
    world.azure.put(community, specialized, overReplicated);
    await checkResource(world.deps(), settings, versionId, event);
    world.azure.remove(versionId);

    const outcomes = [await checkResource(world.deps(), settings, versionId, { ...event, attribution: { ...event.attribution, eventId: "e-2" } })];
    for (let attempt = 1; attempt <= 3; attempt++) outcomes.push(await checkResource(world.deps(), settings, versionId, recheck(attempt)));

    expect(outcomes.map((o) => o.status)).toEqual(["deferred", "deferred", "deferred", "deleted"]);
    expect(world.rechecks.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(world.findings.of("replication-breadth", versionId)?.status).toBe("resolved");
  });

  it("a version ARM never showed is dropped after one re-check, with no rows", async () => {
    world.azure.put(community, specialized);
    const first = await checkResource(world.deps(), settings, versionId, event);
    const again = await checkResource(world.deps(), settings, versionId, recheck(1));
    expect([first.status, again.status]).toEqual(["deferred", "notFound"]);
    expect(world.resources.changeRows).toEqual([]);
  });

  it("a delete event deletes only its own resource: the scale sets following the definition, judged again, stay present", async () => {
    const scaleSet = aScaleSet();
    world.azure.put(community, specialized, overReplicated, scaleSet);
    await checkResource(world.deps(), settings, scaleSet.id, event);
    await checkResource(world.deps(), settings, versionId, { ...event, attribution: { ...event.attribution, eventId: "e-2" } });
    world.azure.remove(versionId);
    const deletion = { source: "event", attribution: { ...event.attribution, eventId: "e-3", eventType: "Microsoft.Resources.ResourceDeleteSuccess", operationName: "Microsoft.Compute/galleries/images/versions/delete" } } as const;
    await checkResource(world.deps(), settings, versionId, deletion);
    expect(world.resources.changeRows.filter((c) => c.resourceKey === scaleSet.id.key).map((c) => c.action)).not.toContain("deleted");
    expect(await world.resources.current(scaleSet.id.key)).toBeDefined();
  });

  it("a delete event's 404 is a deletion at once", async () => {
    world.azure.put(community, specialized, overReplicated);
    await checkResource(world.deps(), settings, versionId, event);
    world.azure.remove(versionId);
    const deletion = { source: "event", attribution: { ...event.attribution, eventId: "e-3", eventType: "Microsoft.Resources.ResourceDeleteSuccess", operationName: "Microsoft.Compute/galleries/images/versions/delete" } } as const;
    expect((await checkResource(world.deps(), settings, versionId, deletion)).status).toBe("deleted");
    expect(world.rechecks).toEqual([]);
  });
});

describe("while reads are short, a resource gallery-watch has not recorded waits its turn once, however many events it gets", () => {
  it("ten events for one new version put it off once: one re-check is queued, the other nine fold into it, and that re-check reads ARM once for all ten", async () => {
    world.azure.put(community, specialized, overReplicated);
    const short = () => {
      const deps = world.deps();
      return { ...deps, arm: Object.assign(Object.create(Object.getPrototypeOf(deps.arm) as object) as typeof deps.arm, deps.arm, { readsShort: () => true }) };
    };
    const outcomes = [];
    for (let n = 1; n <= 10; n++) outcomes.push(await checkCoalesced(short(), settings, overReplicated.id, { ...event, attribution: { ...event.attribution, eventId: `e-${n}` } }));
    // The old put-off queued one re-check per event (a burst of 1,000 new versions delivered ten times each: 3.5 ARM reads per version).
    expect(world.rechecks).toEqual([{ id: overReplicated.id.display, attempt: 1 }]);
    expect(outcomes.map((o) => o.status)).toEqual(["deferred", ...Array(9).fill("coalesced")]);
    // The re-check, once reads are back, judges the version.
    const checked = await checkCoalesced(world.deps(), settings, overReplicated.id, { source: "recheck", attempt: 1, attribution: event.attribution });
    expect(checked.status).not.toBe("deferred");
    expect(world.findings.of("replication-breadth", overReplicated.id)?.status).toBe("open");
  });

  it("a new version's put-off re-check under a recorded definition goes ahead while reads are still short (to share its definition's listing); one under a definition never seen, and a scale set's, are put off again", async () => {
    const scaleSet = aScaleSet({ capacity: 3 });
    const ghost = aVersion({ definition: "never-seen" });
    world.azure.put(community, specialized, overReplicated, scaleSet);
    const deps = world.deps();
    const short = { ...deps, arm: Object.assign(Object.create(Object.getPrototypeOf(deps.arm) as object) as typeof deps.arm, deps.arm, { readsShort: () => true }) };
    const recheck = { source: "recheck", attempt: 1, attribution: event.attribution } as const;
    // Noise: no listing can answer a version of a definition gallery-watch never recorded; it keeps waiting its turn.
    expect(await checkCoalesced(short, settings, ghost.id, recheck)).toMatchObject({ status: "deferred" });
    expect(await checkCoalesced(short, settings, overReplicated.id, recheck)).toMatchObject({ status: "deferred" });
    await checkResource(world.deps(), settings, specialized.id, { source: "recheck", attempt: 0 });
    // The old put-off queued it again (up to six times, 5 s each): a burst of 1,000 new versions then read one GET each, 40 s at ARM's 25 reads/s.
    const version = await checkCoalesced(short, settings, overReplicated.id, recheck);
    expect(version.status).toBe("evaluated");
    expect(world.findings.of("replication-breadth", overReplicated.id)?.status).toBe("open");
    expect(await checkCoalesced(short, settings, scaleSet.id, recheck)).toMatchObject({ status: "deferred" });
    expect(world.rechecks).toEqual([ghost.id.display, overReplicated.id.display, scaleSet.id.display].map((id) => ({ id, attempt: 2 })));
  });
});


describe("Event Grid's second delivery of an event (at-least-once)", () => {
  it("arriving after the first delivery's read went out costs no ARM read and no follow-up: that read covered the event", async () => {
    world.azure.put(community, specialized, overReplicated);
    const first = await checkCoalesced(world.deps(), settings, overReplicated.id, event);
    expect(first.status).toBe("evaluated");
    const requests = world.azure.requests;

    const again = await checkCoalesced(world.deps(), settings, overReplicated.id, event);

    // The old path took it for a new event inside the coalescing window: a follow-up re-check, hence a second read.
    expect(again.status).toBe("coalesced");
    expect(world.rechecks).toEqual([]);
    expect(world.azure.requests).toBe(requests);
  });

  it("a delivery whose handling failed is handled again when Event Grid retries it", async () => {
    world.azure.put(community, specialized, overReplicated);
    const deps = world.deps();
    const failing = { ...deps, arm: Object.assign(Object.create(Object.getPrototypeOf(deps.arm) as object) as typeof deps.arm, deps.arm, { read: () => Promise.reject(new Error("ARM unreachable")) }) };
    await expect(checkCoalesced(failing, settings, overReplicated.id, event)).rejects.toThrow(/unreachable/);

    const retried = await checkCoalesced(world.deps(), settings, overReplicated.id, event);

    expect(retried.status).toBe("evaluated");
    expect(world.findings.of("replication-breadth", overReplicated.id)?.status).toBe("open");
  });
});

describe("separation of duties: who set an exception tag, from the resource's recorded history", () => {
  const by = (who: "sam" | "jo", eventId: string) => ({ source: "event", attribution: { eventId, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: "2026-11-24T12:00:00Z", callerName: who === "sam" ? "Sam Okafor" : "Jo Lindqvist", callerUpn: `${who}@contoso.example` } }) as const;
  const exception = { "gallery-watch-exception": "reason=CAB-4711;expires=2026-11-30" };
  const generalized = aDefinition({ name: "gen", osState: "Generalized" });
  const onGeneralized = (tags: Record<string, string>, capacity = 10) => aScaleSet({ capacity, tags, definition: "gen", image: { outcome: "resolved", definitionId: generalized.id.display, osState: "Generalized" } });
  const onSpecialized = (tags: Record<string, string>, capacity = 10) => aScaleSet({ capacity, tags });

  it("Sam tags the scale set; Jo later moves it to a specialized image, re-sending the tag: excepted, set by Sam", async () => {
    world.azure.put(aGallery(), specialized, generalized, aVersion({ excludeFromLatest: false }), onGeneralized(exception));
    await checkResource(world.deps(), settings, onGeneralized({}).id, by("sam", "e-1"));
    world.azure.put(onSpecialized(exception));
    await checkResource(world.deps(), settings, onSpecialized({}).id, by("jo", "e-2"));
    expect(world.findings.of("scale-set-use", onSpecialized({}).id)).toMatchObject({ status: "excepted", exception: { setBy: { upn: "sam@contoso.example" } }, raisedBy: [{ upn: "jo@contoso.example" }] });
  });

  it("Jo moves it and changes the tag in the same write: Jo set it, Jo raised it: refused", async () => {
    world.azure.put(aGallery(), specialized, generalized, aVersion({ excludeFromLatest: false }), onGeneralized(exception));
    await checkResource(world.deps(), settings, onGeneralized({}).id, by("sam", "e-1"));
    world.azure.put(onSpecialized({ "gallery-watch-exception": "reason=CAB-4711 mine;expires=2026-11-30" }));
    await checkResource(world.deps(), settings, onSpecialized({}).id, by("jo", "e-2"));
    expect(world.findings.of("scale-set-use", onSpecialized({}).id)).toMatchObject({ status: "open", exception: { status: "refused", setBy: { upn: "jo@contoso.example" } } });
  });

  it("a value held through more changes than the first history read covers still names who set it", async () => {
    world.azure.put(aGallery(), specialized, generalized, aVersion({ excludeFromLatest: false }), onGeneralized(exception));
    await checkResource(world.deps(), settings, onGeneralized({}).id, by("sam", "e-1"));
    for (let n = 2; n <= 7; n++) {
      world.azure.put(onGeneralized(exception, 10 + n));
      await checkResource(world.deps(), settings, onGeneralized({}).id, by("jo", `e-${n}`));
    }
    world.azure.put(onSpecialized(exception, 20));
    await checkResource(world.deps(), settings, onSpecialized({}).id, by("jo", "e-8"));
    expect(world.resources.historyRows.filter((r) => r.snapshot.id.key === onSpecialized({}).id.key).length).toBeGreaterThan(4);
    expect(world.findings.of("scale-set-use", onSpecialized({}).id)).toMatchObject({ status: "excepted", exception: { setBy: { upn: "sam@contoso.example" } } });
  });

  it("a tag the sweep finds on a resource it never recorded has no known setter: honoured without an approver list, refused with one", async () => {
    world.azure.put(aGallery(), specialized, aVersion({ excludeFromLatest: false }), onSpecialized(exception));
    await sweepSubscription(world.deps(), settings, SUB, "run-1");
    const found = world.findings.of("scale-set-use", onSpecialized({}).id);
    expect(found?.status).toBe("excepted");
    expect(found?.exception).not.toHaveProperty("setBy");
    expect(found?.raisedBy).toBeUndefined();

    const strict = aWorld();
    strict.azure.put(aGallery(), specialized, aVersion({ excludeFromLatest: false }), onSpecialized(exception));
    await sweepSubscription(strict.deps(), { ...settings, policy: policy({ exceptionApprovers: ["sam@contoso.example"] }) }, SUB, "run-1");
    expect(strict.findings.of("scale-set-use", onSpecialized({}).id)).toMatchObject({ status: "open", exception: { status: "refused", why: expect.stringContaining("has no known setter") } });
  });
});
