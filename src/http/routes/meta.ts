import { Router } from 'express';
import { currentUser } from '../../gitlab/entities.js';
import { requireUser } from '../auth.js';
import { context } from '../context.js';

/** The GitLab release fakelab answers as: a modern one on v4, the last 8.x on v3. */
export const VERSIONS = {
  v4: { version: '17.11.0', revision: 'fakelab' },
  v3: { version: '8.16.4', revision: 'fakelab' },
} as const;

export function metaRouter(): Router {
  const router = Router();

  router.get('/user', requireUser, (_req, res) => {
    const { grant, urls, dialect } = context(res);
    res.json(currentUser(grant!.user, urls, dialect));
  });

  router.get('/version', requireUser, (_req, res) => {
    const { dialect } = context(res);
    if (dialect === 'v3') return void res.json({ ...VERSIONS.v3 });
    res.json({
      ...VERSIONS.v4,
      kas: { enabled: false, externalUrl: null, externalK8sProxyUrl: null, version: null },
      enterprise: false,
    });
  });

  return router;
}
