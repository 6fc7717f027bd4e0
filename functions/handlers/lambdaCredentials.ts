import { fromEnv } from '@aws-sdk/credential-provider-env';
import type { AwsCredentialIdentityProvider } from '@smithy/types';

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the function bundles (an esbuild alias, see
 * infra/functionBundling.ts). Lambda hands every function its role's credentials in environment
 * variables, so the rest of the SDK's default chain (SSO, shared files, web identity, process, container
 * and instance metadata) never answers there; left out, it spares each bundle about 90 KiB and its
 * cold start the loading of them. Outside a bundle the SDK's own chain is used.
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}): AwsCredentialIdentityProvider =>
  fromEnv(init);
