/**
 * Separation of duties for exception tags (issue 20, point 5): an exception whose setter raised
 * the finding is refused, GW_EXCEPTION_APPROVERS limits who may set one, and when the setter or
 * the raiser is not known the decision is the conservative one the README states. Who set a tag
 * is read from the carrier's recorded history; who raised a finding is recorded on it.
 */
import { describe, expect, it } from "vitest";
import { evaluateSubject } from "../../shared/domain/evaluate.js";
import { exceptionSetter, separationOfDuties } from "../../shared/domain/exceptions.js";
import type { Caller, ExceptionVerdict, Finding, FindingRuleId, FindingTransition } from "../../shared/domain/findings.js";
import { RULE_IDS } from "../../shared/domain/findings.js";
import type { SnapshotRecord, Trigger } from "../../shared/domain/records.js";
import type { RelatedResources } from "../../shared/domain/rules/related.js";
import type { Snapshot } from "../../shared/domain/snapshots.js";
import { computeTransitions } from "../../shared/domain/transitions.js";
import { alertMessage } from "../../shared/views/adaptiveCard.js";
import { exceptionText } from "../../shared/domain/wording.js";
import { aDefinition, aScaleSet, aVersion, NOW, policy, regions } from "../support/snapshotBuilders.js";

const JO: Caller = { name: "Jo Lindqvist", upn: "jo.lindqvist@contoso.example", objectId: "8c3f2e4a-5d6f-4a7b-8c1d-2e3f4a5b6c7d" };
const SAM: Caller = { name: "Sam Okafor", upn: "sam.okafor@contoso.example", objectId: "7b2e1d3f-4c5e-4f6a-9b0c-1d2e3f4a5b6c" };
const PRIYA: Caller = { name: "Priya Patel", upn: "priya.patel@contoso.example", objectId: "6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b" };
/** Jo as another token names Jo: object id only, UPN in another case. */
const JO_BY_OID: Caller = { objectId: JO.objectId!.toUpperCase() };
const JO_BY_UPN: Caller = { upn: "Jo.Lindqvist@Contoso.Example" };
/** A name alone (or a client app id) identifies nobody. */
const NAME_ONLY: Caller = { name: "Jo Lindqvist", appId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46" };

const TAG = "gallery-watch-exception";
const active = (setBy?: Caller): ExceptionVerdict => ({ status: "active", reason: "CAB-4711", expires: "2026-12-01T00:00:00.000Z", tag: TAG, ...(setBy ? { setBy } : {}) });

describe("separationOfDuties: who may set an exception", () => {
  const approvers = [SAM.upn!, PRIYA.objectId!];
  it.each<[string, Caller | undefined, readonly Caller[], readonly string[], "active" | "refused", readonly string[]]>([
    ["the raiser set it", JO, [JO], [], "refused", ["set by Jo Lindqvist (jo.lindqvist@contoso.example), whose change raised this finding", "anyone else may approve it"]],
    ["the raiser, named by object id only", JO_BY_OID, [JO], [], "refused", ["whose change raised this finding"]],
    ["the raiser, named by UPN in another case", JO, [JO_BY_UPN], [], "refused", ["whose change raised this finding"]],
    ["one of several raisers (an escalation's caller)", PRIYA, [JO, PRIYA], [], "refused", ["Priya Patel"]],
    ["someone else, no approver list", SAM, [JO], [], "active", []],
    ["a setter known by name only: cannot be told from the raiser, no list", NAME_ONLY, [JO], [], "active", []],
    ["setter not established, no approver list: honoured", undefined, [JO], [], "active", []],
    ["raiser not known (the sweep opened it), no approver list", JO, [], [], "active", []],
    ["an approver (by UPN) who did not raise it", SAM, [JO], approvers, "active", []],
    ["an approver (by object id) who did not raise it", PRIYA, [JO], approvers, "active", []],
    ["an approver who raised it: still refused", SAM, [SAM], approvers, "refused", ["whose change raised this finding", "may approve: sam.okafor@contoso.example, 6a1f0c2e"]],
    ["not an approver", JO, [PRIYA], [SAM.upn!], "refused", ["set by Jo Lindqvist (jo.lindqvist@contoso.example), who is not among the exception approvers", "may approve: sam.okafor@contoso.example"]],
    ["setter not established, approver list set: refused", undefined, [JO], approvers, "refused", ["has no known setter", "may approve: sam.okafor@contoso.example"]],
    ["a name-only setter with an approver list: not an approver", NAME_ONLY, [], approvers, "refused", ["has no known setter"]],
    ["raiser not known, approver sets it", SAM, [], approvers, "active", []],
  ])("%s → %s", (_what, setter, raisers, list, status, why) => {
    const verdict = separationOfDuties(active(setter), raisers, list);
    expect(verdict.status).toBe(status);
    for (const fragment of why) expect(verdict.status === "refused" ? verdict.why : "").toContain(fragment);
    if (verdict.status === "refused") {
      // The refused verdict keeps what the tag said, and reads as "not honoured" everywhere.
      expect(verdict).toMatchObject({ reason: "CAB-4711", expires: "2026-12-01T00:00:00.000Z", tag: TAG });
      expect(exceptionText(verdict, NOW)).toMatch(/^not honoured: exception tag 'gallery-watch-exception' /);
    }
  });

  it("leaves expired and invalid tags as they are", () => {
    const expired: ExceptionVerdict = { status: "expired", reason: "x", expires: "2026-11-01T00:00:00.000Z", tag: TAG, setBy: JO };
    const invalid: ExceptionVerdict = { status: "invalid", why: "no reason", tag: TAG };
    expect(separationOfDuties(expired, [JO], [])).toBe(expired);
    expect(separationOfDuties(invalid, [JO], [SAM.upn!])).toBe(invalid);
  });
});

describe("exceptionSetter: who gave the tag its current value, from the carrier's history", () => {
  const V1 = "reason=CAB-1;expires=2026-12-01";
  const V2 = "reason=CAB-1 approved by Sam;expires=2026-12-01";
  const event = (caller: Caller): Trigger => ({ source: "event", attribution: { eventId: `e-${caller.name}`, eventType: "Microsoft.Resources.ResourceWriteSuccess", eventTime: NOW.toISOString(), callerName: caller.name!, callerUpn: caller.upn!, callerObjectId: caller.objectId! } });
  const sweep: Trigger = { source: "sweep", runId: "run-1" };
  /** A history record of the carrier with the tag at `value` (undefined: no tag), recorded by `trigger`. */
  const rec = (value: string | undefined, trigger: Trigger): SnapshotRecord => ({
    snapshot: aScaleSet({ tags: value === undefined ? { owner: "o" } : { owner: "o", "Gallery-Watch-Exception": value } }),
    contentHash: "h",
    observedAt: NOW.toISOString(),
    trigger,
  });
  it.each<[string, string, SnapshotRecord[], Trigger | undefined, boolean, Caller | undefined]>([
    ["nothing recorded yet: this read's caller (created with the tag)", V1, [], event(JO), true, JO],
    ["newest record has no tag: this read's caller set it", V1, [rec(undefined, event(JO))], event(SAM), true, SAM],
    ["newest record has another value: this read's caller changed it", V2, [rec(V1, event(JO))], event(SAM), true, SAM],
    ["this read's own record already stored: the same answer", V2, [rec(V2, event(SAM)), rec(V1, event(JO))], event(SAM), true, SAM],
    ["unchanged since Sam set it, now Jo writes the resource (re-sending the tag)", V1, [rec(V1, event(SAM)), rec(undefined, event(JO))], event(JO), true, SAM],
    ["several records since: the oldest of the run holding the value", V1, [rec(V1, event(PRIYA)), rec(V1, event(SAM)), rec(undefined, event(JO))], event(JO), true, SAM],
    ["first record ever holds it, from an event: that writer", V1, [rec(V1, event(JO))], event(SAM), true, JO],
    ["first record ever holds it, from the sweep: not established", V1, [rec(V1, sweep)], event(SAM), true, undefined],
    ["set between two sweeps (the sweep saw it change): not established", V1, [rec(V1, sweep), rec(undefined, event(JO))], event(JO), true, undefined],
    ["the sweep reads a new value: not established", V1, [rec(undefined, event(JO))], sweep, true, undefined],
    ["history cut at its limit, value throughout: not established", V1, [rec(V1, event(JO)), rec(V1, event(SAM))], event(SAM), false, undefined],
    ["a carrier this read did not read (a version's definition) with a new value: not established", V1, [rec(undefined, event(JO))], undefined, true, undefined],
    ["a re-check carries its event's caller", V1, [rec(undefined, event(JO))], { source: "recheck", attempt: 1, attribution: event(SAM).source === "event" ? (event(SAM) as Extract<Trigger, { source: "event" }>).attribution : undefined }, true, SAM],
  ])("%s", (_what, value, history, trigger, complete, expected) => {
    const setter = exceptionSetter(TAG, value, history, trigger, complete);
    if (expected === undefined) expect(setter).toBeUndefined();
    else expect(setter).toMatchObject({ upn: expected.upn, objectId: expected.objectId });
  });
});

const RULES: FindingRuleId[] = [...RULE_IDS, "read-access"];
const related: RelatedResources = { definition: aDefinition(), definitions: [], versions: [] };

/** A scale set judged step by step, as the judging use case does: stored findings carried over, the caller and tag setter given. */
function story(approvers: readonly string[] = []) {
  let stored: Finding[] = [];
  return (subject: Snapshot, caller: Caller | undefined, setter?: Caller, now = NOW): FindingTransition[] => {
    const setters = new Map([[subject.id.key, setter]]);
    const results = evaluateSubject(subject, related, policy({ exceptionApprovers: approvers }), now, setters).filter((r) => (r.violation ?? r.observation).ruleId === "scale-set-use");
    const t = computeTransitions(stored, { subjects: [subject.id.key], rules: RULES, results, evaluatedAt: now.toISOString(), ...(caller ? { caller } : {}), exceptionApprovers: approvers });
    const next = new Map(stored.map((f) => [f.fingerprint, f]));
    for (const x of t) next.set(x.fingerprint, x.after);
    stored = [...next.values()];
    return t;
  };
}
const tagged = (reason: string, capacity = 10) => aScaleSet({ capacity, tags: { [TAG]: `reason=${reason};expires=2026-11-30` } });
const summary = (t: FindingTransition[]) => t.map((x) => `${x.kind}${x.alert ? "!" : ""}:${x.after.status}:${x.after.exception?.status ?? "-"}`);

describe("findings: who raised them, and exceptions judged against that", () => {
  it("Jo opens it and sets the exception: refused with an alert, the finding stays open; Sam sets it: excepted", () => {
    const step = story();
    const opened = step(aScaleSet(), JO);
    expect(summary(opened)).toEqual(["opened!:open:-"]);
    expect(opened[0]!.after.raisedBy).toEqual([JO]);
    const refused = step(tagged("CAB-1"), JO, JO);
    expect(summary(refused)).toEqual(["changed!:open:refused"]);
    expect(refused[0]!.after.raisedBy).toEqual([JO]);
    // The same state judged again: nothing new, no second card.
    expect(step(tagged("CAB-1"), JO, JO)).toEqual([]);
    const excepted = step(tagged("CAB-1 approved by Sam"), SAM, SAM);
    expect(summary(excepted)).toEqual(["excepted!:excepted:active"]);
    expect(excepted[0]!.after.exception).toMatchObject({ setBy: SAM });
    // Jo edits the tag value: now Jo set it, and Jo raised it: reopened.
    expect(summary(step(tagged("CAB-1 extended"), JO, JO))).toEqual(["reopened!:open:refused"]);
  });

  it("a tag created with the resource by its creator is refused at once: the opening card says so", () => {
    const t = story()(tagged("self-approved"), JO, JO);
    expect(summary(t)).toEqual(["opened!:open:refused"]);
    expect(t[0]!.after.exception).toMatchObject({ status: "refused", why: expect.stringContaining("whose change raised this finding") });
  });

  it("an escalation's caller joins the raisers, and may not except it either", () => {
    let stored: Finding[] = [];
    const definition = aDefinition();
    const version = (n: number, tags: Record<string, string> = {}) => aVersion({ tags: { owner: "o", approver: "a", ...tags }, targetRegions: regions(...["West Europe", "North Europe", "East US", "UK South", "Japan East"].slice(0, n)) });
    const step = (subject: Snapshot, caller: Caller, setter?: Caller) => {
      const results = evaluateSubject(subject, { definition, definitions: [], versions: [] }, policy(), NOW, new Map([[subject.id.key, setter]])).filter((r) => (r.violation ?? r.observation).ruleId === "replication-breadth");
      const t = computeTransitions(stored, { subjects: [subject.id.key], rules: RULES, results, evaluatedAt: NOW.toISOString(), caller });
      const next = new Map(stored.map((f) => [f.fingerprint, f]));
      for (const x of t) next.set(x.fingerprint, x.after);
      stored = [...next.values()];
      return t;
    };
    expect(step(version(3), JO)[0]!.after.raisedBy).toEqual([JO]);
    const escalated = step(version(5), PRIYA);
    expect(escalated.map((t) => t.kind)).toEqual(["escalated"]);
    expect(escalated[0]!.after.raisedBy).toEqual([JO, PRIYA]);
    // Better, not worse: Sam raised nothing.
    expect(step(version(4), SAM)[0]!.after.raisedBy).toEqual([JO, PRIYA]);
    expect(summary(step(version(4, { [TAG]: "reason=CAB-2;expires=2026-11-30" }), PRIYA, PRIYA))).toEqual(["changed!:escalated:refused"]);
    expect(summary(step(version(4, { [TAG]: "reason=CAB-2 by Sam;expires=2026-11-30" }), SAM, SAM))).toEqual(["excepted!:excepted:active"]);
    // Resolved, then violating again: raised anew by whoever did it.
    const samsTag = { [TAG]: "reason=CAB-2 by Sam;expires=2026-11-30" };
    expect(step(version(2, samsTag), SAM).map((t) => t.kind)).toEqual(["resolved"]);
    expect(step(version(3, samsTag), PRIYA, SAM)[0]!.after).toMatchObject({ status: "excepted", raisedBy: [PRIYA] });
    expect(step(version(3), PRIYA)[0]!.after).toMatchObject({ status: "open", raisedBy: [PRIYA] });
  });

  it("with an approver list, a non-approver's exception is refused and an approver's honoured", () => {
    const step = story([SAM.upn!]);
    step(aScaleSet(), JO);
    expect(summary(step(tagged("CAB-3"), PRIYA, PRIYA))).toEqual(["changed!:open:refused"]);
    expect(summary(step(tagged("CAB-3 approved"), SAM, SAM))).toEqual(["excepted!:excepted:active"]);
  });

  it("a setter not established: honoured without an approver list, refused with one", () => {
    expect(summary(story()(tagged("pre-existing"), undefined, undefined))).toEqual(["excepted!:excepted:active"]);
    expect(summary(story([SAM.upn!])(tagged("pre-existing"), undefined, undefined))).toEqual(["opened!:open:refused"]);
  });
});

describe("the cards say why", () => {
  /** The card's JSON with Markdown escapes (`\\(`) taken out, to read as the channel shows it. */
  const card = (t: FindingTransition) => JSON.stringify(alertMessage({ alertId: "a-1", transition: t })).replaceAll("\\\\", "");
  it("a refused exception heads the card, naming the setter and who may approve", () => {
    const step = story([SAM.upn!, PRIYA.objectId!]);
    step(aScaleSet(), JO);
    const text = card(step(tagged("CAB-1"), JO, JO)[0]!);
    expect(text).toContain("Exception refused: exception tag 'gallery-watch-exception' was set by Jo Lindqvist (jo.lindqvist@contoso.example), whose change raised this finding: an exception must be approved by someone else (separation of duties); may approve: sam.okafor@contoso.example, 6a1f0c2e-3b4d-4e5f-8a9b-0c1d2e3f4a5b");
    expect(text).not.toContain("Exception: CAB-1;");
    // The finding did not move (still open): the headline is the refusal.
    expect(text).toContain('"text":"Exception refused: scale-set-use (critical)"');
  });

  it("an excepted card names who set the exception, or says it could not be established", () => {
    const known = story();
    known(aScaleSet(), JO);
    expect(card(known(tagged("CAB-9"), SAM, SAM)[0]!)).toContain("Exception set by Sam Okafor (sam.okafor@contoso.example); the finding was raised by Jo Lindqvist (jo.lindqvist@contoso.example)");
    // Found by the sweep (no raiser), then excepted by Sam: the card says what could not be checked.
    const swept = story();
    swept(aScaleSet(), undefined);
    expect(card(swept(tagged("CAB-9"), SAM, SAM)[0]!)).toContain("Exception set by Sam Okafor (sam.okafor@contoso.example); who raised the finding is not known (the sweep or a re-check found it): only GW_EXCEPTION_APPROVERS, if set, was checked");
    expect(card(story()(tagged("CAB-9"), undefined, undefined)[0]!)).toContain("Exception set by someone gallery-watch could not establish (set before it recorded the resource, or found by the sweep): separation of duties not checked");
  });
});

// Versions take their definition's exception: the definition's setter counts.
describe("a version excepted by its definition's tag", () => {
  it("is refused when the version's raiser set the definition's tag", () => {
    const definition = aDefinition({ tags: { owner: "o", approver: "a", [TAG]: "reason=CAB-7;expires=2026-12-01" } });
    const version = aVersion({ targetRegions: regions("West Europe", "North Europe", "East US") });
    const results = evaluateSubject(version, { definition, definitions: [], versions: [] }, policy(), NOW, new Map([[definition.id.key, JO]]));
    const t = computeTransitions([], { subjects: [version.id.key], rules: RULES, results, evaluatedAt: NOW.toISOString(), caller: JO });
    expect(t.find((x) => x.after.ruleId === "replication-breadth")?.after.exception).toMatchObject({ status: "refused", setBy: JO });
    const bySam = computeTransitions([], { subjects: [version.id.key], rules: RULES, results: evaluateSubject(version, { definition, definitions: [], versions: [] }, policy(), NOW, new Map([[definition.id.key, SAM]])), evaluatedAt: NOW.toISOString(), caller: JO });
    expect(bySam.find((x) => x.after.ruleId === "replication-breadth")?.after.status).toBe("excepted");
  });
});
