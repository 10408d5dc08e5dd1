import { existsSync } from 'node:fs';
import { defineConfig } from 'prisma/config';

// The Prisma CLI wants a native schema engine before `generate`, although generate never uses it,
// and it cannot be downloaded on our machines. Point the check at any existing file unless a real
// engine is configured. Migrations are made and applied without it (scripts/db-diff.ts, src/db/migrate.ts).
if (!process.env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(process.env.PRISMA_SCHEMA_ENGINE_BINARY)) {
  process.env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
});
