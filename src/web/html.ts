/**
 * HTML with escaping by construction. `html` is the only way to build markup: every value
 * interpolated into it is escaped, unless it is already SafeHtml (the result of another `html`,
 * or of the few helpers here that build markup from constants). There is no way to mark a
 * string as safe from outside this module, so markup cannot come from git or from a client.
 */

const SAFE = Symbol('SafeHtml');

export class SafeHtml {
  readonly [SAFE] = true;
  /** Only this module makes one (the constructor's token is not exported). */
  constructor(
    token: typeof CONSTRUCT,
    readonly text: string,
  ) {
    if (token !== CONSTRUCT) throw new Error('SafeHtml is made by html`` only');
  }
  toString(): string {
    return this.text;
  }
}

const CONSTRUCT = Symbol('construct');

/** What may be interpolated: text (escaped), numbers, markup, lists of them; null, undefined and false render nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

/** Text as HTML text or as a quoted attribute's value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false || value === true) return '';
  if (value instanceof SafeHtml) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (typeof value === 'number') return String(value);
  return escapeHtml(value as string);
}

/** The tag: literal parts as written (the template's own markup), every value escaped. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(CONSTRUCT, out);
}

/** Markup from a list, joined by a separator (itself escaped unless SafeHtml). */
export function join(items: readonly HtmlValue[], separator: HtmlValue = ''): SafeHtml {
  const sep = render(separator);
  return new SafeHtml(CONSTRUCT, items.map(render).join(sep));
}

/** A URL usable in a link to the outside, or null: only absolute http(s) URLs with a host. */
export function httpUrl(text: string | null | undefined): string | null {
  if (!text) return null;
  try {
    const url = new URL(text);
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return null;
    return url.href;
  } catch {
    return null;
  }
}

/** A path of this server's own pages: each segment percent-encoded (a ref's slashes kept as segments). */
export function pathSegments(...parts: string[]): string {
  return parts.flatMap((p) => p.split('/')).filter((s) => s !== '').map(encodeURIComponent).join('/');
}

/** A query string from defined values (`?a=1&b=x`), or '' when none is defined. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const pairs = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== null && e[1] !== '');
  return pairs.length === 0 ? '' : `?${new URLSearchParams(pairs.map(([k, v]) => [k, String(v)])).toString()}`;
}
