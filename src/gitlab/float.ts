import { randomBytes } from 'node:crypto';

/**
 * A number GitLab keeps as a Ruby Float (a status' `coverage`): Rails writes it with Float#to_s,
 * so 100 is `100.0`, 1e20 is `1.0e+20` and 0.00005 is `5.0e-05`. JSON.stringify would write `100`,
 * which typed clients (go-gitlab's float64 is fine, but strict schema checks are not) and
 * byte-for-byte comparisons notice. sendJson writes the text this class gives.
 */
export class RubyFloat {
  constructor(readonly value: number) {}

  /** Stands in for the number inside JSON.stringify's output until writeJson puts the text in (JSON.stringify cannot write raw text). */
  toJSON(): string {
    return FLOAT_MARK + this.toRubyString();
  }

  /** Float#to_s: plain notation in [1e-4, 1e16), else scientific with a two-digit exponent at least; always a fraction. */
  toRubyString(): string {
    const n = this.value;
    if (!Number.isFinite(n)) return 'null'; // Rails' JSON encoder writes NaN and Infinity as null
    const abs = Math.abs(n);
    if (n === 0 || (abs >= 1e-4 && abs < 1e16)) {
      const text = String(n);
      return text.includes('.') ? text : `${text}.0`;
    }
    const [mantissa, exponent] = n.toExponential().split('e');
    const sign = exponent.startsWith('-') ? '-' : '+';
    const digits = exponent.replace(/^[+-]/, '').padStart(2, '0');
    return `${mantissa.includes('.') ? mantissa : `${mantissa}.0`}e${sign}${digits}`;
  }
}

/** Unguessable per process, so no client string can pass for a Float. */
export const FLOAT_MARK = `fakelab-float-${randomBytes(12).toString('hex')}:`;
const MARKED = new RegExp(`"${FLOAT_MARK}([-+.0-9e]+|null)"`, 'g');

/** JSON text of `body` with every RubyFloat written as Ruby writes it. */
export function stringifyJson(body: unknown): string {
  const text = JSON.stringify(body) ?? '';
  return text.includes(FLOAT_MARK) ? text.replace(MARKED, '$1') : text;
}

/** A Float entity field: null stays null. */
export function rubyFloat(value: number | null): RubyFloat | null {
  return value === null ? null : new RubyFloat(value);
}
