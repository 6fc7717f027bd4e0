/** `cluster-key-slot` (ioredis's own dependency) ships no types: the Redis Cluster hash slot of a key. */
declare module 'cluster-key-slot' {
  /** The hash slot (0–16383) of `key`, honouring `{hash tags}`. */
  const calculateSlot: (key: string | Buffer) => number;
  export default calculateSlot;
}
