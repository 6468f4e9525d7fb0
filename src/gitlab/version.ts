import type { Dialect } from './entities.js';
import type { VersionEntity } from './wire.js';

/** The GitLab release fakelab answers as: a modern one on v4, the last 8.x on v3. */
const VERSIONS = {
  v4: { version: '17.11.0', revision: 'fakelab' },
  v3: { version: '8.16.4', revision: 'fakelab' },
} as const;

/** `GET /version`. */
export function versionEntity(dialect: Dialect): VersionEntity {
  if (dialect === 'v3') return { ...VERSIONS.v3 };
  return {
    ...VERSIONS.v4,
    kas: { enabled: false, externalUrl: null, externalK8sProxyUrl: null, version: null },
    enterprise: false,
  };
}
