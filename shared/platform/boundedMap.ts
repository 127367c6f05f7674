/**
 * Process-level memos (etags, staged alerts, last reads) are shortcuts, never the truth: a miss
 * costs one request. So each is bounded by forgetting its oldest entry; setting a key again moves
 * it to the end (Map order is insertion order), which makes the map least-recently-set-first.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value as K);
}
