/** A user of the fake GitLab. The auth issue adds config-file users; until then the CLI token's admin. */
export interface User {
  id: number;
  username: string;
  name: string;
  email: string;
  admin: boolean;
  createdAt: string;
}

export interface TokenGrant {
  user: User;
  scopes: string[];
}

export const administrator: User = {
  id: 1,
  username: 'root',
  name: 'Administrator',
  email: 'admin@example.com',
  admin: true,
  createdAt: '2024-01-01T00:00:00.000Z',
};

/** Known tokens → their user and scopes. */
export class TokenRegistry {
  private readonly tokens = new Map<string, TokenGrant>();

  add(token: string, grant: TokenGrant): void {
    this.tokens.set(token, grant);
  }

  find(token: string): TokenGrant | undefined {
    return this.tokens.get(token);
  }
}
