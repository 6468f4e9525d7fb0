/**
 * A user of the fake GitLab: the built-in administrator (whom the CLI's --token acts as) or one
 * declared in the access configuration (see AccessPolicy.fromConfig).
 */
export interface User {
  id: number;
  username: string;
  name: string;
  email: string;
  admin: boolean;
  createdAt: string;
}

export const administrator: User = {
  id: 1,
  username: 'root',
  name: 'Administrator',
  email: 'admin@example.com',
  admin: true,
  createdAt: '2024-01-01T00:00:00.000Z',
};

/** Users by id (authors of statuses and comments are stored by id). */
export class UserDirectory {
  private readonly users = new Map<number, User>([[administrator.id, administrator]]);

  add(user: User): void {
    this.users.set(user.id, user);
  }

  /** Every known user, by id. */
  all(): User[] {
    return [...this.users.values()].sort((a, b) => a.id - b.id);
  }

  /** A user by username (case-insensitive), if known. */
  byUsername(username: string): User | undefined {
    const key = username.toLowerCase();
    return [...this.users.values()].find((u) => u.username.toLowerCase() === key);
  }

  find(id: number): User {
    // A user removed from the configuration still authored what they wrote.
    return this.users.get(id) ?? { id, username: `user${id}`, name: `User ${id}`, email: `user${id}@example.com`, admin: false, createdAt: administrator.createdAt };
  }
}
