import { MODEL_SPECS } from '../models/spec.generated.js';
import { camel, specOf } from '../models/params.js';

/** `cf-native models [type]`: the model types, or one type's parameters (no addon needed). */
export function modelsCommand(type: string | undefined): number {
  if (type === undefined) {
    for (const m of MODEL_SPECS) process.stdout.write(`${m.name.padEnd(12)} ${m.doc}\n`);
    process.stdout.write('\n`cf-native models TYPE` lists the parameters of one type.\n');
    return 0;
  }
  const spec = specOf(type);
  if (!spec) {
    process.stderr.write(`cf-native: unknown model type ${type} (known: ${MODEL_SPECS.map((m) => m.name).join(', ')})\n`);
    return 2;
  }
  process.stdout.write(`${spec.name}: ${spec.doc}\n\n`);
  if (spec.params.length === 0) process.stdout.write('No parameters.\n');
  for (const p of spec.params) {
    const s = p as { kind: string; min?: number; max?: number; minExclusive?: boolean; values?: readonly string[] };
    const range =
      s.kind === 'choice' ? s.values!.join(' | ') : s.kind === 'bool' ? 'true | false' : `${s.kind} ${s.minExclusive ? '>' : '>='} ${s.min}${s.max === undefined ? '' : `, <= ${s.max}`}`;
    process.stdout.write(`  ${p.name} (API: ${camel(p.name)})  ${range}  [default ${String(p.default)}]\n      ${p.doc}\n`);
  }
  return 0;
}
