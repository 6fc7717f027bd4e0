/**
 * The key and value sources as plain types: what `parseKeySources` and `parseValueSource` return and
 * what the construct's props take. Written out rather than inferred from the zod schemas in
 * sourceConfig.ts, so the package's type declarations need no zod; sourceConfig.ts checks that the two
 * agree.
 */

import type { HeaderValue } from './headerSecrets';

/** How much a source's keys count against the other sources' (see `CombinedKeyProvider`). */
interface Weighted {
  weight?: number;
}

/** One key source of `CODOMYRMEX_WARMING_KEY_SOURCES`. */
export type KeySourceConfig =
  | ({ type: 'static'; keys: string[] } & Weighted)
  | ({ type: 's3'; bucket: string; key: string } & Weighted)
  /** Every object under `prefix`, `parallelReads` at a time (default 8). */
  | ({ type: 's3'; bucket: string; prefix: string; parallelReads?: number } & Weighted)
  | ({
      type: 'dynamodb';
      tableName: string;
      attribute: string;
      indexName?: string;
      query?: {
        keyConditionExpression: string;
        expressionAttributeValues: Record<string, unknown>;
        expressionAttributeNames?: Record<string, string>;
      };
      /** A parallel scan's segments (1 to 1,000,000; not with `query`), `parallelReads` at a time (default 8). */
      segments?: number;
      parallelReads?: number;
    } & Weighted)
  | ({ type: 'lambda'; functionName: string } & Weighted)
  | ({ type: 'adaptive'; threshold: number; limit: number; recentSeconds?: number } & Weighted);

/** What both HTTP value sources take besides their URL. */
interface HttpSourceOptions {
  /** Sent with every request; a value may be read from a secret by its ARN. */
  headers?: Record<string, HeaderValue>;
  /** A body larger than this fails its key (or batch). */
  maxBodyBytes?: number;
}

/** The value source of `CODOMYRMEX_WARMING_VALUE_SOURCE`. */
export type ValueSourceConfig =
  | { type: 'lambda'; functionName: string }
  | ({ type: 'http'; urlTemplate: string } & HttpSourceOptions)
  | ({ type: 'http'; batchUrl: string } & HttpSourceOptions)
  | { type: 'dynamodb'; tableName: string; keyAttribute: string; valueAttribute?: string }
  | { type: 'module'; path: string };
