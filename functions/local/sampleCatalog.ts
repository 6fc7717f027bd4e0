import { sleep } from '../core';

/** A product as the sample origin returns it. */
export interface Product {
  id: number;
  name: string;
  priceCents: number;
  stock: number;
}

/** How the sample origin misbehaves, so a demo shows retries, failures and skips. */
export interface SampleOriginOptions {
  keyCount: number;
  /** Mean simulated latency of one load. */
  meanLatencyMs: number;
  /** One key in this many fails its first attempt and then loads. */
  flakyEvery: number;
  /** One key in this many always fails. */
  brokenEvery: number;
  /** One key in this many has no value at the origin. */
  missingEvery: number;
}

export const defaultSampleOrigin: SampleOriginOptions = {
  keyCount: 5_000,
  meanLatencyMs: 3,
  flakyEvery: 100,
  brokenEvery: 2_000,
  missingEvery: 500,
};

export const productKey = (id: number): string => `product:${id}`;

/**
 * An origin that behaves like a database behind a slow network: jittered latency, some transient
 * errors, a few keys that always fail and a few that do not exist.
 */
export const createSampleOrigin = (options: SampleOriginOptions) => {
  const attempts = new Map<number, number>();
  return async (key: string): Promise<Product | undefined> => {
    const id = Number(key.slice('product:'.length));
    await sleep(options.meanLatencyMs * (0.5 + Math.random()));
    const attempt = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, attempt);
    if (id % options.brokenEvery === options.brokenEvery - 1)
      throw new Error(`origin: product ${id} is corrupt`);
    if (id % options.flakyEvery === 7 && attempt === 1) throw new Error('origin: connection reset');
    if (id % options.missingEvery === 3) return undefined;
    return { id, name: `Product ${id}`, priceCents: 100 + ((id * 37) % 9_900), stock: (id * 13) % 250 };
  };
};

/**
 * Draws product ids with a Zipf(s = 1) popularity, as real read traffic looks: a few products get
 * most of the reads. Inverse-CDF sampling over precomputed weights.
 */
export const createZipfSampler = (keyCount: number, random: () => number = Math.random) => {
  const cumulative = new Float64Array(keyCount);
  let total = 0;
  for (let rank = 0; rank < keyCount; rank++) {
    total += 1 / (rank + 1);
    cumulative[rank] = total;
  }
  return (): number => {
    const target = random() * total;
    let low = 0;
    let high = keyCount - 1;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((cumulative[middle] as number) < target) low = middle + 1;
      else high = middle;
    }
    return low;
  };
};

/** A small seeded PRNG (mulberry32), so simulated traffic is the same on every run. */
export const seededRandom = (seed: number): (() => number) => {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4_294_967_296;
  };
};
