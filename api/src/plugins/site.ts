import fp from 'fastify-plugin';
import type { AppConfig } from '../config.ts';
import { SiteGate } from '../live/gate.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** THE answer to site-wide "may this account…" (admin actions, sign-up, going live). */
    siteGate: SiteGate;
  }
}

export const sitePlugin = fp<{ config: AppConfig }>(
  async (app, opts) => {
    const { adminUsernames, registration, streaming } = opts.config;
    app.decorate('siteGate', new SiteGate(app.db, { adminUsernames, defaults: { registration, streaming } }));
  },
  { name: 'redred-site', dependencies: ['redred-db'] },
);
