import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Product } from '../../functions/local/sampleCatalog';
import { type SampleOriginServer, startSampleOriginServer } from '../../functions/local/sampleOriginServer';

let server: SampleOriginServer;
const product: Product = { id: 1, name: 'Lamp', priceCents: 1_999, stock: 3 };

const get = (key: string) => fetch(server.urlTemplate.replace('{key}', key));

beforeAll(async () => {
  server = await startSampleOriginServer(async (key) => (key === 'product:1' ? product : undefined));
});

afterAll(async () => {
  await server?.close();
});

describe('the sample origin server', () => {
  it('answers a product as JSON, and 404 for a key without one', async () => {
    const found = await get('product%3A1');
    const missing = await get('product%3A2');

    expect(found.status).toBe(200);
    expect(await found.json()).toEqual(product);
    expect(missing.status).toBe(404);
  });

  it('answers 400 to a key that is not valid percent-encoding, and keeps serving', async () => {
    const malformed = await get('%');

    expect(malformed.status).toBe(400);
    expect(await malformed.text()).toBe('malformed percent-encoding in the key');
    expect((await get('product%3A1')).status).toBe(200);
  });
});
