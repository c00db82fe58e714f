export * from './database.ts';
export type * from './schema.ts';
export * from './users.ts';
export * from './sessions.ts';
export * from './streams.ts';
export * from './comments.ts';
export * from './roles.ts';
export * from './moderation.ts';
export * from './stream-keys.ts';
