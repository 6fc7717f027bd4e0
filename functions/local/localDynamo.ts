import type { AddressInfo } from 'node:net';
import { CreateTableCommand, type CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { createTableInput, RUNS_TABLE, TRACKER_TABLE } from '../adapters/tables';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './localAws';

/** An in-process DynamoDB (dynalite), and clients pointed at it. */
export interface LocalDynamo {
  /** `http://127.0.0.1:<port>`. */
  endpoint: string;
  client: DynamoDBClient;
  /** `client` wrapped for plain JavaScript values, as the adapters take it. */
  documentClient: DynamoDBDocumentClient;
  /** Creates a table, ready at once (dynalite is started with no creation delay). */
  createTable(input: CreateTableCommandInput): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts dynalite in this process on a free port of 127.0.0.1, with tables ready at once. dynalite
 * validates requests as DynamoDB does (reserved words, expression errors) but implements neither
 * transactions nor TTL deletion.
 *
 * @example
 * const dynamo = await startLocalDynamo();
 * await createTables(dynamo.client, { runs: 'runs', tracker: 'tracker' });
 * await dynamo.close();
 */
export const startLocalDynamo = async (): Promise<LocalDynamo> => {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  return {
    endpoint,
    client,
    documentClient: DynamoDBDocumentClient.from(client),
    async createTable(input) {
      await client.send(new CreateTableCommand(input));
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
    },
  };
};

/** Creates the run table and/or the tracker table from their designs in `tables.ts`. */
export const createTables = async (
  client: DynamoDBClient,
  names: { runs?: string; tracker?: string },
): Promise<void> => {
  if (names.runs) await client.send(new CreateTableCommand(createTableInput(RUNS_TABLE, names.runs)));
  if (names.tracker)
    await client.send(new CreateTableCommand(createTableInput(TRACKER_TABLE, names.tracker)));
};
