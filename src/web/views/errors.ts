import { html, type SafeHtml } from '../html.js';
import { links } from '../links.js';

const TITLES: Record<number, string> = { 403: 'Forbidden', 404: 'Not found', 500: 'Something went wrong' };

export function errorPage(status: number, message: string): SafeHtml {
  return html`<h1>${status} ${TITLES[status] ?? 'Error'}</h1><p>${message}</p><p><a href="${links.home()}">Back to the projects</a></p>`;
}
