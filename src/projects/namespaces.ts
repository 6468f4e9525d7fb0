import type { User } from '../users.js';
import type { ProjectRegistry } from './registry.js';

/**
 * Namespaces as fakelab has them: every user's personal namespace (its path is the username,
 * whether or not a folder of that name exists yet) and every folder below the repos root that is
 * not a repository (a group; a folder inside one is a subgroup). Ids are stable hashes of the full
 * path, the ids the project entity's `namespace.id` has always shown.
 */
export interface Namespace {
  id: number;
  name: string;
  path: string;
  kind: 'user' | 'group';
  full_path: string;
  parent_id: number | null;
  /** The user whose personal namespace this is. */
  owner?: User;
}

/** A stable positive id for a namespace path (namespaces are implied by repository paths). */
export function namespaceId(fullPath: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(fullPath)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return (hash % 1_000_000) + 1000;
}

/** The namespace of a full path: a user's when it is one segment naming a user, a group's otherwise. */
export function namespaceAt(fullPath: string, userByName: (username: string) => User | undefined): Namespace {
  const segments = fullPath.split('/');
  const owner = segments.length === 1 ? userByName(fullPath) : undefined;
  const last = segments[segments.length - 1];
  return {
    id: namespaceId(fullPath),
    name: owner ? owner.name : last,
    path: owner ? owner.username : last,
    kind: owner ? 'user' : 'group',
    full_path: owner ? owner.username : fullPath,
    parent_id: segments.length > 1 ? namespaceId(segments.slice(0, -1).join('/')) : null,
    ...(owner ? { owner } : {}),
  };
}

/** Every namespace: the users' first (by user id), then the folders' (by path). */
export async function allNamespaces(registry: ProjectRegistry, users: User[]): Promise<Namespace[]> {
  const byName = new Map(users.map((u) => [u.username.toLowerCase(), u]));
  const lookup = (name: string) => byName.get(name.toLowerCase());
  const out: Namespace[] = users.map((u) => namespaceAt(u.username, lookup));
  const seen = new Set(out.map((n) => n.full_path.toLowerCase()));
  for (const folder of await registry.folders()) {
    if (seen.has(folder.toLowerCase())) continue;
    seen.add(folder.toLowerCase());
    out.push(namespaceAt(folder, lookup));
  }
  return out;
}
