/**
 * Waits until the local stack has nothing left to do: the simulator has delivered its events,
 * the host has no invocation in flight and the queues are drained. Polls; bounded by a deadline.
 */
import type { LocalStack } from "./stack.js";

export async function waitUntilQuiet(stack: LocalStack, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let calm = 0;
  let lastCards = -1;
  while (Date.now() < deadline) {
    await stack.arm.events.idle();
    await stack.host.idle();
    const cards = stack.inbox.cards().length;
    // Two consecutive calm polls with no new card: deliveries triggered by the last invocation have landed.
    calm = cards === lastCards ? calm + 1 : 0;
    lastCards = cards;
    if (calm >= 2) return;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`the local stack was still busy after ${timeoutMs} ms`);
}
