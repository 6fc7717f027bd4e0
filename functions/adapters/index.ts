export * from './aws';
export * from './redis';
