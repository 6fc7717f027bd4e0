import type { LocalRuntimeState } from '../../functions/local/cli/localRuntimeState';

/** Where a local runtime would listen, for CLI tests that need one without starting it. */
export const localRuntimeAddresses: Pick<LocalRuntimeState, 'endpoints' | 'functionNames' | 'queueUrls'> = {
  endpoints: {
    lambda: 'http://127.0.0.1:3001',
    sqs: 'http://127.0.0.1:3002',
    dynamodb: 'http://127.0.0.1:3003',
  },
  functionNames: { warm: 'warm', control: 'control', track: 'track', consume: 'consume' },
  queueUrls: {
    warm: 'http://127.0.0.1:3002/q/warm',
    warmDlq: 'http://127.0.0.1:3002/q/warm-dlq',
    access: 'http://127.0.0.1:3002/q/access',
    accessDlq: 'http://127.0.0.1:3002/q/access-dlq',
  },
};
