export { createTables, type LocalDynamo, startLocalDynamo } from '../../functions/local/localDynamo';
