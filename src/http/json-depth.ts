/** Deeper JSON than any Chronos body needs; deeper input would exhaust the validator's stack. */
export const MAX_JSON_DEPTH = 32;

/**
 * A body-parser `verify` hook: refuses JSON nested deeper than `maxDepth` before it is parsed, by counting
 * brackets outside strings in one pass over the raw bytes. POST /jobs/batch allows two levels more (`{ jobs: [`),
 * so that any body POST /jobs takes travels in a batch too.
 */
export const refuseDeepJson = (maxDepth = MAX_JSON_DEPTH) => (_req: unknown, _res: unknown, raw: Buffer): void => {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const byte = raw[i];
    if (inString) {
      if (byte === 0x5c) i++; // backslash: skip the escaped byte
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x7b || byte === 0x5b) {
      if (++depth > maxDepth) {
        throw Object.assign(new Error(`the JSON body is nested deeper than ${maxDepth} levels`), { status: 400, type: 'entity.too.deep' });
      }
    } else if (byte === 0x7d || byte === 0x5d) {
      depth--;
    }
  }
};
