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
