/** Rails' blank? for a string: empty or only white space (Unicode's; U+FEFF is not white space to Ruby). */
export function isBlank(text: string): boolean {
  return /^[^\S\uFEFF]*$/.test(text);
}

/** Rails' presence: what `attributes_for_keys` keeps (lib/api/helpers.rb) — a blank string counts as not given. */
export function present(text: string | undefined): string | undefined {
  return text === undefined || isBlank(text) ? undefined : text;
}
