import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { RUN_STORE_ACTIONS } from '../../../infra/runStoreGrants';

/** The DynamoDB action of each document client command. */
const ACTION_OF_COMMAND: Record<string, string> = {
  GetCommand: 'dynamodb:GetItem',
  PutCommand: 'dynamodb:PutItem',
  UpdateCommand: 'dynamodb:UpdateItem',
  DeleteCommand: 'dynamodb:DeleteItem',
  QueryCommand: 'dynamodb:Query',
  ScanCommand: 'dynamodb:Scan',
  BatchGetCommand: 'dynamodb:BatchGetItem',
  BatchWriteCommand: 'dynamodb:BatchWriteItem',
  TransactGetCommand: 'dynamodb:TransactGetItems',
  TransactWriteCommand: 'dynamodb:TransactWriteItems',
};

describe('RUN_STORE_ACTIONS', () => {
  it('are exactly the calls DynamoRunStore makes', () => {
    const source = readFileSync(
      new URL('../../../functions/adapters/DynamoRunStore.ts', import.meta.url),
      'utf8',
    );
    const commands = [...source.matchAll(/new (\w+Command)\(/g)].map((match) => match[1] ?? '');

    const actions = new Set(commands.map((command) => ACTION_OF_COMMAND[command] ?? `unknown ${command}`));

    expect([...actions].sort()).toEqual([...RUN_STORE_ACTIONS].sort());
  });
});
