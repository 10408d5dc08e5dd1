import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';

/**
 * A PGlite with the extensions reel's migrations create (pg_trgm, for search): in `dataDir`, or in
 * memory when none is given. Every PGlite that runs the migrations must be opened here.
 */
export function openPGlite(dataDir?: string): Promise<PGlite> {
  return PGlite.create(dataDir, { extensions: { pg_trgm } });
}
