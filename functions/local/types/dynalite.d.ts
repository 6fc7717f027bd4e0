declare module 'dynalite' {
  import type { Server } from 'node:http';

  interface DynaliteOptions {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    /** Keep data in this LevelDB folder; in memory when omitted. */
    path?: string;
  }

  /** dynalite ships no types; it returns a plain Node HTTP server speaking the DynamoDB protocol. */
  export default function dynalite(options?: DynaliteOptions): Server;
}
