/**
 * In-memory stand-ins for the ports the digest uses, with the same contracts as the table
 * adapters: a claim is insert-if-absent, a takeover and a release are conditional on the row
 * not having changed since it was read.
 */
import type { Finding } from "../../shared/domain/findings.js";
import type { Clock, FindingStore, SweepRun, SweepRunStore, TeamsNotifier } from "../../shared/app/ports.js";
import type { ClaimResult, DigestLog, DigestRecord, FindingActivity } from "../../shared/app/ports.js";

export class FakeClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
  set(iso: string): void {
    this.current = new Date(iso);
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}

export function inMemoryFindings(findings: readonly Finding[]): Pick<FindingStore, "open"> & FindingActivity {
  return {
    open: async () => findings.filter((f) => f.status !== "resolved"),
    changedSince: async (since) => findings.filter((f) => f.updatedAt >= since),
  };
}

export function inMemorySweepRuns(runs: readonly SweepRun[]): Pick<SweepRunStore, "list"> {
  return {
    list: async (options = {}) =>
      runs
        .filter((r) => (options.since === undefined || r.startedAt >= options.since) && (options.subscriptionId === undefined || r.subscriptionId === options.subscriptionId))
        .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
        .slice(0, options.limit ?? Infinity),
  };
}

interface Row extends DigestRecord {
  readonly claim: string;
  readonly version: number;
}

export class InMemoryDigestLog implements DigestLog {
  readonly rows = new Map<string, Row>();
  private claims = 0;
  private versions = 0;

  async claim(record: Pick<DigestRecord, "digestId" | "period" | "claimedAt">, options: { staleBefore: string; force?: boolean }): Promise<ClaimResult> {
    await Promise.resolve(); // a storage round trip: lets concurrent callers interleave
    const claim = `claim-${++this.claims}`;
    const existing = this.rows.get(record.digestId);
    if (existing && !options.force) {
      if (existing.sentAt) return { outcome: "sent", record: existing };
      if (existing.claimedAt > options.staleBefore) return { outcome: "inProgress", record: existing };
    }
    this.rows.set(record.digestId, { ...record, claim, version: ++this.versions });
    return { outcome: "claimed", claim };
  }

  async markSent(digestId: string, claim: string, sent: { sentAt: string; until: string }): Promise<boolean> {
    const row = this.rows.get(digestId);
    if (!row || row.claim !== claim) return false;
    this.rows.set(digestId, { ...row, ...sent, version: ++this.versions });
    return true;
  }

  async release(digestId: string, claim: string): Promise<void> {
    const row = this.rows.get(digestId);
    if (row && row.claim === claim && !row.sentAt) this.rows.delete(digestId);
  }

  async previousSent(period: string): Promise<DigestRecord | undefined> {
    return [...this.rows.values()].filter((r) => r.period < period && r.sentAt).sort((a, b) => b.period.localeCompare(a.period))[0];
  }

  /** A claim left behind by a sender that died before sending. */
  abandon(record: Pick<DigestRecord, "digestId" | "period" | "claimedAt">): void {
    this.rows.set(record.digestId, { ...record, claim: "dead-sender", version: ++this.versions });
  }
}

export class RecordingTeams implements TeamsNotifier {
  readonly sent: Array<{ payload: unknown; alertId: string }> = [];
  private failures = 0;
  failNext(count: number): void {
    this.failures = count;
  }
  async send(payload: unknown, alertId: string): Promise<void> {
    await Promise.resolve();
    if (this.failures > 0) {
      this.failures--;
      throw new Error("429 Too Many Requests");
    }
    this.sent.push({ payload, alertId });
  }
}
