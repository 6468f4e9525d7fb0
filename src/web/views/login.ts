import { html, type SafeHtml } from '../html.js';
import { links } from '../links.js';

/** `/-/login`: a personal access token, kept by the server for this browser's session (an HttpOnly cookie names it). */
export function loginPage(returnTo: string, error: string | null): SafeHtml {
  return html`<h1>Sign in</h1>
${error ? html`<p class="error" role="alert">${error}</p>` : ''}
<form method="post" action="${links.login()}" class="login">
<p><label>Personal access token (scope <code>api</code> or <code>read_api</code>)<br><input type="password" name="token" autocomplete="off" required size="40"></label></p>
<input type="hidden" name="return_to" value="${returnTo}">
<p><button type="submit">Sign in</button></p>
</form>
<p class="muted">Anonymous visitors see public projects only.</p>`;
}
