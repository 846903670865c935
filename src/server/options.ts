// The server's options: one TypeBox schema holds their types, bounds and defaults, for the
// plugin (`recommender`), `createServer` and `cf-native serve` alike.
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { CfError } from '../errors.js';

export const LimitsSchema = Type.Object(
  {
    maxK: Type.Integer({ minimum: 1, maximum: 100_000, default: 1000, description: 'Largest k a request may ask for.' }),
    maxLiked: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: 'Most liked items in a POST /recommend.' }),
    maxIds: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: 'Most ids in an exclude or candidates list.' }),
    maxFeedback: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1000, description: 'Most entries in one POST /feedback.' }),
    bodyLimit: Type.Integer({ minimum: 1024, maximum: 1 << 30, default: 1 << 20, description: 'Largest request body, in bytes.' }),
  },
  { additionalProperties: false, default: {} },
);

export const ServerOptionsSchema = Type.Object(
  {
    path: Type.String({ minLength: 1, description: 'A model folder, or a folder holding model folders (a train output).' }),
    model: Type.Optional(Type.String({ minLength: 1, description: 'The default model; otherwise the best on validation.' })),
    adminToken: Type.Optional(Type.Union([Type.String({ minLength: 16 }), Type.Null()], { description: 'Bearer token of the /admin routes (at least 16 characters); without one they answer 403.' })),
    feedbackLog: Type.Optional(Type.Union([Type.String({ minLength: 1 }), Type.Null()], { description: 'The feedback log (CSV); default feedback.csv in the folder holding the models; null turns POST /feedback off.' })),
    fallback: Type.Union([Type.Literal('none'), Type.Literal('popularity')], { default: 'none', description: 'What an unknown user gets: a 404, or the popularity list.' }),
    watchMs: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 1000, description: 'How often the model folders are checked for a new version (0: only on /admin/reload).' }),
    docs: Type.Boolean({ default: true, description: 'Serve the OpenAPI document and Swagger UI at /docs.' }),
    limits: LimitsSchema,
  },
  { additionalProperties: false },
);

export type ServerOptions = Static<typeof ServerOptionsSchema>;
export type ServerOptionsInput = Partial<Omit<ServerOptions, 'limits'>> & { path: string; limits?: Partial<ServerOptions['limits']> };
export type Limits = ServerOptions['limits'];

/** Defaults filled in, then checked: a wrong option is an ERR_CF_INVALID_ARG naming it. */
export function resolveServerOptions(given: unknown): ServerOptions {
  if (given === null || typeof given !== 'object' || Array.isArray(given)) {
    throw new CfError('ERR_CF_INVALID_ARG', 'server options must be an object with at least `path`');
  }
  const o = Value.Default(ServerOptionsSchema, structuredClone(given)) as unknown;
  // TypeBox reports an unknown key twice; the additionalProperties entry names it.
  const errors = Value.Errors(ServerOptionsSchema, o).filter((e) => e.keyword !== 'boolean');
  const first = errors[0];
  if (first) {
    const at = first.instancePath.slice(1).replace(/\//g, '.');
    if (first.keyword === 'additionalProperties') {
      const keys = (first.params as { additionalProperties?: string[] }).additionalProperties ?? [];
      throw new CfError('ERR_CF_INVALID_ARG', `unknown server option ${[at, keys[0]].filter(Boolean).join('.')}`);
    }
    throw new CfError('ERR_CF_INVALID_ARG', `server option ${at || 'options'}: ${first.message}`);
  }
  return o as ServerOptions;
}
