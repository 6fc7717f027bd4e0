import calculateSlot from 'cluster-key-slot';

/** Number of hash slots of a Redis Cluster. */
export const HASH_SLOTS = 16_384;

/**
 * Groups items by the hash slot of their key, so every multi-key command or pipeline sent to a
 * cluster stays within one slot and never fails with CROSSSLOT. Without `cluster`, everything is one
 * group. Each group keeps the items' input positions, so results can be put back in order; groups
 * are cut at `maxGroupSize` so one script or pipeline never blocks the server for long.
 */
export const groupBySlot = <T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  cluster: boolean,
  maxGroupSize: number,
): { slot: number; indexes: number[] }[] => {
  const open = new Map<number, number[]>();
  const groups: { slot: number; indexes: number[] }[] = [];
  items.forEach((item, index) => {
    const slot = cluster ? calculateSlot(keyOf(item)) : 0;
    let indexes = open.get(slot);
    if (!indexes) {
      indexes = [];
      open.set(slot, indexes);
      groups.push({ slot, indexes });
    }
    indexes.push(index);
    if (indexes.length >= maxGroupSize) open.delete(slot);
  });
  return groups;
};

export { calculateSlot };

let tagsBySlot: string[] | undefined;

/**
 * A short hash tag whose slot is `slot`: a key `…{tag}…` lands in that slot whatever else it holds.
 * The table is found once, by counting in base 36 until every slot has a tag (about 170,000 CRC16s).
 */
export const hashTagForSlot = (slot: number): string => {
  if (!tagsBySlot) {
    const tags: string[] = new Array(HASH_SLOTS);
    let missing = HASH_SLOTS;
    for (let candidate = 0; missing > 0; candidate++) {
      const tag = candidate.toString(36);
      const tagSlot = calculateSlot(tag);
      if (tags[tagSlot] === undefined) {
        tags[tagSlot] = tag;
        missing--;
      }
    }
    tagsBySlot = tags;
  }
  return tagsBySlot[slot] as string;
};
