/**
 * A value made safe as one token of a NATS subject, whoever chose it: every character outside [A-Za-z0-9-]
 * (`.`, `*`, `>`, whitespace, `_` itself…) becomes `_<hex code point>_`, and the empty string `_`. One-to-one,
 * so no two values share a subject, and no value adds a level or a wildcard. UUIDs come out unchanged.
 * Every subject built from data goes through it.
 */
export function subjectToken(value: string): string {
  return value === '' ? '_' : value.replace(/[^A-Za-z0-9-]/gu, (character) => `_${character.codePointAt(0)!.toString(16)}_`);
}

/** The value a subject token stands for: subjectToken undone. */
export function fromSubjectToken(token: string): string {
  return token === '_' ? '' : token.replace(/_([0-9a-f]+)_/g, (_match, hex: string) => String.fromCodePoint(parseInt(hex, 16)));
}
