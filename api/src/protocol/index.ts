// THE wire contract. Server code imports values; the client imports types only
// (`import type`), plus plain values from `./constants.ts` and `./errors.ts`.
export * from './constants.ts';
export * from './errors.ts';
export * from './common.ts';
export * from './client-messages.ts';
export * from './server-messages.ts';
export * from './rest.ts';
export * from './admin.ts';
