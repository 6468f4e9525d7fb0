import type { HandlerContext, Reply } from '../handle.js';

/** GET /user: the token's own user. */
export async function currentUser(ctx: HandlerContext): Promise<Reply> {
  return { body: ctx.present.currentUser(ctx.grant!.user) };
}

/** GET /version. */
export async function version(ctx: HandlerContext): Promise<Reply> {
  return { body: ctx.present.version() };
}
