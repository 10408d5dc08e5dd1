import type { Database } from './index.ts';

// The process's database, set once at start-up (or per test file). Resolvers and services reach
// Prisma through here rather than through the GraphQL context, as the Pothos Prisma plugin advises.
let current: Database | undefined;

export function setDatabase(db: Database | undefined): void {
  current = db;
}

export function database(): Database {
  if (!current) throw new Error('database not opened');
  return current;
}

export function prisma(): Database['prisma'] {
  return database().prisma;
}
