export { type LocalSqs, startLocalSqs } from '../../functions/local/localSqs';
