// berth's option parser: util.parseArgs({ args, options, allowPositionals: true, strict: true })
// to the letter (test/unit/core/argv.test.ts compares the two on generated command lines),
// without node:util, whose load costs Bun 2-2.6 ms of every verb.
import { BerthError } from './errors.ts';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** one letter: -x; a one-letter key with no short is a flag of its own (exec's -t) */
  short?: string;
  /** every use adds to an array; without it, the last use wins */
  multiple?: boolean;
}

export type Options = Readonly<Record<string, OptionSpec>>;

type One<T> = T extends 'string' ? string : boolean;

/** string or boolean; an array of them with multiple (either, when the spec may have it or not) */
type ValueOf<S extends OptionSpec> = S extends { multiple: true }
  ? One<S['type']>[]
  : 'multiple' extends keyof S
    ? S extends { multiple: false }
      ? One<S['type']>
      : One<S['type']> | One<S['type']>[]
    : One<S['type']>;

/** An option given is there; one not given is not (parseArgs' ParsedValues, strict) */
export type Values<O extends Options> = { -readonly [K in keyof O]?: ValueOf<O[K]> };

export interface Parsed<O extends Options> {
  values: Values<O>;
  positionals: string[];
}

/** The option -C stands for: the first whose short is C, else one named C (parseArgs' rule). */
function longFor(c: string, options: Options): string {
  for (const [name, spec] of Object.entries(options)) if (spec.short === c) return name;
  return c;
}

function typeOf(name: string, options: Options): OptionSpec['type'] | undefined {
  return Object.hasOwn(options, name) ? options[name]?.type : undefined;
}

/**
 * One use of an option checked and stored. RAW is how it was written (-o, --output); INLINE,
 * whether its value came in the same word (--output=X, -oX), where a leading dash is meant.
 */
function store(
  values: Record<string, unknown>,
  options: Options,
  name: string,
  raw: string,
  value: string | undefined,
  inline: boolean,
) {
  const spec = Object.hasOwn(options, name) ? options[name] : undefined;
  if (!spec) throw new BerthError('BAD_SYNTAX', `unknown option '${raw}'`);
  const both = `${spec.short ? `-${spec.short}, ` : ''}--${name}`;
  if (spec.type === 'string' && value === undefined) {
    throw new BerthError('BAD_SYNTAX', `option '${both}' needs a value`);
  }
  if (spec.type === 'boolean' && value !== undefined) {
    throw new BerthError('BAD_SYNTAX', `option '${both}' takes no value`);
  }
  if (!inline && value !== undefined && value.length > 1 && value.startsWith('-')) {
    // "--output --json": most likely a forgotten value, so a value with a dash must say so
    const spelled = raw.startsWith('--') ? `${raw}=${value}` : `--${name}=${value} or ${raw}${value}`;
    throw new BerthError('BAD_SYNTAX', `option '${raw}' is followed by '${value}': its value or an option?`, {
      hint: `a value that starts with "-" is written ${spelled}`,
    });
  }
  const v = value ?? true;
  if (!spec.multiple) values[name] = v;
  else if (Array.isArray(values[name])) values[name].push(v);
  else values[name] = [v];
}

/** ARGS as parseArgs reads them: -- ends the options, "-" alone is a positional. */
export function parseArgv<O extends Options>(args: readonly string[], options: O): Parsed<O> {
  // no prototype, as parseArgs' values: an option named like an Object method reads as unset
  const values: Record<string, unknown> = Object.create(null);
  const positionals: string[] = [];
  const rest = [...args];
  for (let arg = rest.shift(); arg !== undefined; arg = rest.shift()) {
    if (arg === '--') {
      positionals.push(...rest);
      break;
    }
    if (arg.length < 2 || arg[0] !== '-') {
      positionals.push(arg);
    } else if (arg[1] === '-') {
      // --name=value splits at the first "=" after the dashes, but only one past the name's first
      // character makes it so ("--=x" is an option named "=x"): parseArgs' quirk, kept
      if (arg.includes('=', 3)) {
        const eq = arg.indexOf('=');
        store(values, options, arg.slice(2, eq), arg.slice(0, eq), arg.slice(eq + 1), true);
      } else {
        const name = arg.slice(2);
        const value = typeOf(name, options) === 'string' ? rest.shift() : undefined;
        store(values, options, name, arg, value, false);
      }
    } else {
      const c = arg[1] as string;
      const name = longFor(c, options);
      const isString = typeOf(name, options) === 'string';
      if (arg.length === 2) store(values, options, name, arg, isString ? rest.shift() : undefined, false);
      else if (isString) store(values, options, name, `-${c}`, arg.slice(2), true);
      else rest.unshift(...expandGroup(arg, options));
    }
  }
  return { values: values as Values<O>, positionals };
}

/**
 * -aHo X is -a -H -o X, -aoX is -a -oX: each letter a word until a string option takes the rest
 * (and -a- is -a --, which ends the options: parseArgs' reading, kept).
 */
function expandGroup(arg: string, options: Options): string[] {
  const words: string[] = [];
  for (let i = 1; i < arg.length; i++) {
    const c = arg[i] as string;
    if (typeOf(longFor(c, options), options) === 'string') return [...words, `-${arg.slice(i)}`];
    words.push(`-${c}`);
  }
  return words;
}
