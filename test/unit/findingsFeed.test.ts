import { describe, expect, it } from "vitest";
import { batchesBySize, cloudEventProblem, findingEvent } from "../../shared/views/findingsFeed.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { RULE_IDS } from "../../shared/domain/findings.js";
import { aVersion, NOW, policy, regions } from "../support/snapshotBuilders.js";

describe("findings as CloudEvents", () => {
  const v = aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") });
  const opened = computeTransitions([], { subjects: [v.id.key], rules: [...RULE_IDS], results: evaluateSubject(v, { definitions: [], versions: [] }, policy(), NOW), evaluatedAt: NOW.toISOString() });
  const later = new Date(NOW.getTime() + 60_000).toISOString();
  // The version is gone: every finding on it resolves.
  const resolved = computeTransitions(opened.map((t) => t.after), { subjects: [v.id.key], rules: [...RULE_IDS], results: [], evaluatedAt: later });

  it("one event per transition: type by kind, id by fingerprint and revision, subject the resource, the before state kept", () => {
    expect(resolved).toHaveLength(opened.length);
    const [o, r] = [opened[0]!, resolved.find((t) => t.fingerprint === opened[0]!.fingerprint)!];
    const open = findingEvent({ alertId: `${o.fingerprint}:${o.after.revision}`, transition: o }, "/gallery-watch/x");
    const gone = findingEvent({ alertId: `${r.fingerprint}:${r.after.revision}`, transition: r }, "/gallery-watch/x");
    expect([open.type, gone.type]).toEqual(["com.gallerywatch.finding.opened", "com.gallerywatch.finding.resolved"]);
    expect(open.id).not.toBe(gone.id);
    expect(gone).toMatchObject({ subject: v.id.display, time: later, data: { status: "resolved", before: { status: "open", severity: o.after.severity } } });
    expect(open.data).not.toHaveProperty("before");
    expect(open.data).not.toHaveProperty("attribution"); // the sweep found it: nobody to name
    for (const e of [open, gone]) expect(cloudEventProblem(JSON.parse(JSON.stringify(e)))).toBeUndefined();
    // Recomputed after a retry: the very same event.
    expect(findingEvent({ alertId: `${o.fingerprint}:${o.after.revision}`, transition: o }, "/gallery-watch/x")).toEqual(open);
  });

  it("batches stay under the request limit, in order, and an oversized event goes alone", () => {
    const events = Array.from({ length: 10 }, (_, i) => ({ i, pad: "x".repeat(100) }));
    const batches = batchesBySize(events, 400);
    expect(batches.flat()).toEqual(events);
    for (const b of batches) expect(Buffer.byteLength(JSON.stringify(b))).toBeLessThanOrEqual(400);
    expect(batchesBySize([{ pad: "x".repeat(1000) }, { i: 1 }], 400).map((b) => b.length)).toEqual([1, 1]);
  });
});
