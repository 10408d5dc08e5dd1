import type { Viewer } from './auth/keys.ts';
import { prisma } from './db/client.ts';
import { badInput, conflict, notFound } from './errors.ts';
import { isUuid } from './uuid.ts';

export async function createOrg(name: string) {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 200) throw badInput('an organisation name is 1 to 200 characters');
  const existing = await prisma().org.findUnique({ where: { name: trimmed } });
  if (existing) throw conflict(`an organisation named "${trimmed}" already exists (${existing.id})`);
  return prisma().org.create({ data: { name: trimmed } });
}

/** Every organisation, oldest first. */
export function listOrgs() {
  return prisma().org.findMany({ orderBy: { createdAt: 'asc' } });
}

/** An org by id or by name. */
export async function findOrg(idOrName: string) {
  const org = await prisma().org.findFirst({
    where: isUuid(idOrName) ? { OR: [{ id: idOrName }, { name: idOrName }] } : { name: idOrName },
  });
  if (!org) throw notFound(`no organisation "${idOrName}"`);
  return org;
}

/** An ADMIN viewer of an org, for work the operator does from the command line (import, demo data). */
export function operatorViewer(orgId: string, keyId = '00000000-0000-0000-0000-000000000000'): Viewer {
  return { keyId, orgId, role: 'ADMIN', subject: 'reel-cli', email: null, name: 'reel command line', groups: [] };
}
