// JSON with line:column errors. Node 20's JSON.parse often reports no position ("Unexpected token '}',
// <the whole text> is not valid JSON"), and that text may hold passwords. So on failure a small scanner
// walks the text to find where it first goes wrong and says what it found there, and nothing more.

export interface JsonProblem {
  line: number;
  column: number;
  problem: string;
}

export function parseJson(text: string): { ok: true; value: unknown } | ({ ok: false } & JsonProblem) {
  const body = text.replace(/^\uFEFF/, ''); // editors on Windows add a byte-order mark
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch {
    const { at, problem } = locate(body);
    const before = body.slice(0, at).split('\n');
    return { ok: false, line: before.length, column: (before.at(-1)?.length ?? 0) + 1, problem };
  }
}

/** Thrown inside the scanner to unwind to locate() with the position. */
class Stop extends Error {
  constructor(
    readonly at: number,
    readonly problem: string,
  ) {
    super(problem);
  }
}

/** Offset and description of the first syntax error in `s` (which JSON.parse rejected). */
function locate(s: string): { at: number; problem: string } {
  let i = 0;
  const found = (): string => (i >= s.length ? 'end of file' : JSON.stringify(s[i]));
  const fail = (expected: string): never => {
    throw new Stop(
      i,
      i >= s.length ? `unexpected end of file, expected ${expected}` : `expected ${expected}, found ${found()}`,
    );
  };
  const space = (): void => {
    while (i < s.length && ' \t\n\r'.includes(s[i]!)) i++;
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      const c = s[i];
      if (c === undefined) throw new Stop(i, 'unterminated string');
      if (c === '"') {
        i++;
        return;
      }
      if (c < ' ') throw new Stop(i, 'line break or control character inside a string');
      if (c === '\\') {
        i++;
        if (s[i] === 'u' && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) i += 5;
        else if (s[i] !== undefined && '"\\/bfnrt'.includes(s[i]!)) i++;
        else throw new Stop(i, 'invalid escape in a string');
      } else i++;
    }
  };
  const value = (): void => {
    space();
    const c = s[i];
    if (c === '{') {
      i++;
      space();
      if (s[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        space();
        if (s[i] !== '"') fail('a "quoted" property name');
        string();
        space();
        if (s[i] !== ':') fail("':'");
        i++;
        value();
        space();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === '}') {
          i++;
          return;
        }
        fail("',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      space();
      if (s[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value();
        space();
        if (s[i] === ',') {
          i++;
          continue;
        }
        if (s[i] === ']') {
          i++;
          return;
        }
        fail("',' or ']'");
      }
    }
    if (c === '"') return string();
    const num = /-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    num.lastIndex = i;
    if (num.test(s)) {
      i = num.lastIndex;
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (s.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    fail('a value');
  };
  try {
    value();
    space();
    if (i < s.length) fail('end of file');
  } catch (e) {
    if (e instanceof Stop) return { at: e.at, problem: e.problem };
    throw e;
  }
  return { at: 0, problem: 'invalid JSON' }; // not reached: JSON.parse and the scanner agree
}
