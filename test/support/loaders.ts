import { CallableValueLoader, sleep } from '../../functions/core';

/** A per-key loader that records how many loads run at once, for concurrency assertions. */
export const concurrencyProbe = <K, V>(load: (key: K) => V | undefined, latencyMs = 1) => {
  const probe = { inFlight: 0, peak: 0, calls: 0 };
  const loader = new CallableValueLoader<K, V>(async (key) => {
    probe.calls++;
    probe.inFlight++;
    probe.peak = Math.max(probe.peak, probe.inFlight);
    try {
      await sleep(latencyMs);
      return load(key);
    } finally {
      probe.inFlight--;
    }
  });
  return { probe, loader };
};
