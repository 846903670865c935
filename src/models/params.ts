// Model parameters as the core describes them (spec.generated.ts): the API's option types,
// the defaults, and the check the YAML validator runs without loading the addon. Nothing
// here declares a parameter; a test keeps the generated file equal to describeModels().
import { CfError } from '../errors.js';
import { describeValue as describe } from '../options.js';
import { MODEL_SPECS } from './spec.generated.js';

export type ModelSpec = (typeof MODEL_SPECS)[number];
export type ModelType = ModelSpec['name'];
export type ParamSpec = ModelSpec['params'][number];
export type ParamValue = number | boolean | string;

type SpecOf<T extends ModelType> = Extract<ModelSpec, { name: T }>;
type CamelCase<S extends string> = S extends `${infer H}_${infer T}` ? `${H}${Capitalize<CamelCase<T>>}` : S;
type ValueOf<P> = P extends { kind: 'int' | 'float' } ? number : P extends { kind: 'bool' } ? boolean : P extends { values: readonly (infer V)[] } ? V : never;

/** The API's options of model type T: camelCase, every key optional (defaults from the core). */
export type ParamsOf<T extends ModelType> = {
  -readonly [P in SpecOf<T>['params'][number] as CamelCase<P['name']>]?: ValueOf<P>;
};

/** Resolved parameters as saved (model.json, metrics.json): snake_case, every key present. */
export type ResolvedParams = Record<string, ParamValue>;

export const MODEL_TYPES = MODEL_SPECS.map((m) => m.name) as ModelType[];

export function specOf(type: string): ModelSpec | undefined {
  return MODEL_SPECS.find((m) => m.name === type);
}

export const camel = (s: string): string => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

/** The defaults of a model type, snake_case (`camelCase: true` for the API's spelling). */
export function defaultsOf(type: ModelType, o: { camelCase?: boolean } = {}): ResolvedParams {
  const spec = specOf(type);
  if (!spec) throw new CfError('ERR_CF_INVALID_ARG', `type: unknown model type ${JSON.stringify(type)} (known: ${MODEL_TYPES.join(', ')})`);
  const out: ResolvedParams = {};
  for (const p of spec.params) out[o.camelCase ? camel(p.name) : p.name] = p.default;
  return out;
}


/** What a value must be, in the core's words (params.rs `describe_bounds`). */
function expected(p: ParamSpec): string {
  const s = p as { kind: string; min?: number; max?: number; minExclusive?: boolean; values?: readonly string[] };
  switch (s.kind) {
    case 'int':
      return s.max === undefined ? `an integer >= ${s.min}` : `an integer in ${s.min}..=${s.max}`;
    case 'float':
      return `a finite number ${s.minExclusive ? '>' : '>='} ${s.min}${s.max === undefined ? '' : ` and <= ${s.max}`}`;
    case 'bool':
      return 'true or false';
    default:
      return `one of ${s.values!.map((v) => JSON.stringify(v)).join(', ')}`;
  }
}

/** Whether `v` fits `p`: the same rule as the core's `check_value`. */
export function fits(p: ParamSpec, v: unknown): boolean {
  const s = p as { kind: string; min?: number; max?: number; minExclusive?: boolean; values?: readonly string[] };
  switch (s.kind) {
    case 'int':
      return typeof v === 'number' && Number.isInteger(v) && v >= s.min! && (s.max === undefined || v <= s.max);
    case 'float':
      return typeof v === 'number' && Number.isFinite(v) && (s.minExclusive ? v > s.min! : v >= s.min!) && (s.max === undefined || v <= s.max);
    case 'bool':
      return typeof v === 'boolean';
    default:
      return typeof v === 'string' && s.values!.includes(v);
  }
}

export class ParamIssue extends Error {
  constructor(
    readonly key: string,
    readonly onKey: boolean,
    /** For an unknown key, the hint alone ("did you mean ...?"). */
    message: string,
  ) {
    super(message);
  }
}

/**
 * Check raw snake_case params of `type` (a YAML mapping) and fill the defaults; throws a
 * ParamIssue naming the key (`closest` gives the "did you mean" hint).
 */
export function resolveParams(type: ModelType, raw: Record<string, unknown>, closest: (w: string, c: readonly string[]) => string | null): ResolvedParams {
  const spec = specOf(type)!;
  const names = spec.params.map((p) => p.name as string);
  for (const key of Object.keys(raw)) {
    if (names.includes(key)) continue;
    const guess = closest(key, names);
    const hint = guess ? `did you mean ${guess}?` : names.length === 0 ? `${type} takes no params` : `expected one of: ${names.join(', ')}`;
    throw new ParamIssue(key, true, hint);
  }
  const out: ResolvedParams = {};
  for (const p of spec.params) {
    const v = raw[p.name];
    if (v === undefined || v === null) {
      out[p.name] = p.default;
      continue;
    }
    if (!fits(p, v)) {
      const values = (p as { values?: readonly string[] }).values;
      const guess = typeof v === 'string' && values ? closest(v, values) : null;
      throw new ParamIssue(p.name, false, `must be ${expected(p)} (got ${describe(v)}${guess ? `; did you mean ${guess}?` : ''})`);
    }
    out[p.name] = v as ParamValue;
  }
  return out;
}
