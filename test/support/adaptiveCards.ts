/** Microsoft's adaptivecards library, used in Node without a DOM to parse and validate cards. */
import { createRequire } from "node:module";

const AC = createRequire(import.meta.url)("adaptivecards/dist/adaptivecards.js") as {
  AdaptiveCard: new () => { parse(json: unknown, context: unknown): void; validateProperties(): { validationEvents: unknown[] } };
  SerializationContext: new () => { eventCount: number; getEventAt(i: number): { message: string } };
};

/** Parse and validate with Microsoft's adaptivecards library; returns every complaint. */
export function complaints(content: unknown): string[] {
  const card = new AC.AdaptiveCard();
  const context = new AC.SerializationContext();
  card.parse(content, context);
  const out: string[] = [];
  for (let i = 0; i < context.eventCount; i++) out.push(context.getEventAt(i).message);
  out.push(...card.validateProperties().validationEvents.map((e) => JSON.stringify(e)));
  return out;
}

/** The cards the local Teams inbox received from index `from` on, each as its Adaptive Card's JSON text. */
export function cardTexts(inbox: { cards(): ReadonlyArray<{ card: unknown }> }, from: number): string[] {
  return inbox.cards().slice(from).map((c) => JSON.stringify((c.card as { attachments: Array<{ content: unknown }> }).attachments[0]!.content));
}

/** The first card from index `from` on whose text holds `text`, waited for up to `ms`; undefined if none came. */
export async function cardWithin(inbox: { cards(): ReadonlyArray<{ card: unknown }> }, from: number, text: string, ms: number): Promise<string | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const found = cardTexts(inbox, from).find((c) => c.includes(text));
    if (found) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}
