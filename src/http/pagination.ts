import type { Request, Response } from 'express';
import { RAILS_TEXT } from './params.js';

export const MAX_PER_PAGE = 100;

export interface PageWindow {
  page: number;
  perPage: number;
  offset: number;
}

/** v4 offset pagination: 1-based pages, per_page clamped to 100. */
export function pageWindow(page: number, perPage: number): PageWindow {
  const size = Math.min(perPage, MAX_PER_PAGE);
  return { page, perPage: size, offset: (page - 1) * size };
}

/** Rails' to_query escaping: CGI.escape (space as '+') of each key and value, keys sorted. */
export function toQuery(params: Record<string, unknown>): string {
  const escape = (v: string) =>
    encodeURIComponent(v)
      .replace(/%20/g, '+')
      .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const parts: string[] = [];
  for (const key of Object.keys(params).sort()) {
    const value = params[key];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) parts.push(`${escape(`${key}[]`)}=${escape(String(v))}`);
    else parts.push(`${escape(key)}=${escape(value instanceof Date ? railsTime(value) : String(value ?? ''))}`);
  }
  return parts.join('&');
}

/** DateTime#to_s as Rails renders a coerced param: the offset it was given, no fraction. */
const railsTime = (d: Date) =>
  (d as Date & { [RAILS_TEXT]?: string })[RAILS_TEXT] ?? d.toISOString().replace(/\.\d{3}Z$/, '+00:00');

export interface PaginationInfo {
  window: PageWindow;
  /** Items on this page. */
  count: number;
  /** Total items, when the list counts them (GitLab omits totals for commit lists). */
  total?: number;
  /** Without a total: is there a next page? */
  hasNext?: boolean;
  /** Every param of the request after coercion and defaults, route params included. */
  params: Record<string, unknown>;
  /** Base URL clients see. */
  baseUrl: string;
}

/** GitLab's offset pagination headers: X-Page, X-Per-Page, X-Next-Page, X-Prev-Page, X-Total(-Pages), Link. */
export function setPaginationHeaders(req: Request, res: Response, info: PaginationInfo): void {
  const { page, perPage } = info.window;
  const totalPages = info.total !== undefined ? Math.max(Math.ceil(info.total / perPage), 1) : undefined;
  const hasNext = totalPages !== undefined ? page < totalPages : (info.hasNext ?? info.count >= perPage);
  const next = hasNext ? page + 1 : null;
  const prev = page > 1 ? page - 1 : null;
  res.setHeader('X-Per-Page', String(perPage));
  res.setHeader('X-Page', String(page));
  res.setHeader('X-Next-Page', next === null ? '' : String(next));
  res.setHeader('X-Prev-Page', prev === null ? '' : String(prev));
  if (info.total !== undefined) {
    res.setHeader('X-Total', String(info.total));
    res.setHeader('X-Total-Pages', String(totalPages));
  }
  const path = req.originalUrl.split('?')[0];
  const link = (p: number, rel: string) => `<${info.baseUrl}${path}?${toQuery({ ...info.params, page: p, per_page: perPage })}>; rel="${rel}"`;
  const links: string[] = [];
  if (prev !== null) links.push(link(prev, 'prev'));
  if (next !== null) links.push(link(next, 'next'));
  links.push(link(1, 'first'));
  if (totalPages !== undefined) links.push(link(totalPages, 'last'));
  res.setHeader('Link', links.join(', '));
}

/**
 * Keyset pagination's only header (Gitlab::Pagination::Keyset::HeaderBuilder): a rel="next"
 * Link with the request's parameters and the next page's bounds, none on the last page.
 */
export function setKeysetHeaders(req: Request, res: Response, info: { next: Record<string, number | string> | null; params: Record<string, unknown>; baseUrl: string }): void {
  if (!info.next) return;
  const { page: _page, id_after: _after, id_before: _before, ...kept } = info.params;
  const path = req.originalUrl.split('?')[0];
  // Rails' Hash#to_query, as toQuery writes it: keys sorted.
  res.setHeader('Link', `<${info.baseUrl}${path}?${toQuery({ ...kept, ...info.next })}>; rel="next"`);
}
