import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describeError } from '../core';
import type { Product } from './sampleCatalog';

/** The sample origin over HTTP, as an `http` value source reaches it. */
export interface SampleOriginServer {
  /** `http://127.0.0.1:<port>/products/{key}`: the `urlTemplate` of the value source. */
  urlTemplate: string;
  close(): Promise<void>;
}

const PRODUCT_PATH = '/products/';

/**
 * Serves a sample origin on a free port of 127.0.0.1: `GET /products/<key>` answers the product as
 * JSON, 404 when it has no value, and 503 with the origin's message when the load throws, so the
 * consume function loads the demo's data through an ordinary `http` value source.
 *
 * @example
 * const server = await startSampleOriginServer(createSampleOrigin(defaultSampleOrigin));
 * const valueSource = { type: 'http', urlTemplate: server.urlTemplate };
 */
export const startSampleOriginServer = async (
  load: (key: string) => Promise<Product | undefined>,
): Promise<SampleOriginServer> => {
  const server = createServer((request, response) => {
    const path = request.url ?? '';
    if (request.method !== 'GET' || !path.startsWith(PRODUCT_PATH)) {
      response.writeHead(404).end();
      return;
    }
    let key: string;
    try {
      key = decodeURIComponent(path.slice(PRODUCT_PATH.length));
    } catch {
      response.writeHead(400, { 'content-type': 'text/plain' }).end('malformed percent-encoding in the key');
      return;
    }
    load(key).then(
      (product) => {
        if (product === undefined) response.writeHead(404).end();
        else response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(product));
      },
      (error: unknown) => {
        response.writeHead(503, { 'content-type': 'text/plain' }).end(describeError(error));
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    urlTemplate: `http://127.0.0.1:${port}${PRODUCT_PATH}{key}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
};
