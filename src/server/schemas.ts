// Request and response schemas of every route (TypeBox: the type, the defaults and the checks
// in one place; Fastify validates with them and the OpenAPI document is generated from them).
import { Type } from 'typebox';
import type { Limits } from './options.js';

export const Id = Type.String({ minLength: 1, maxLength: 1024 });
const Err = Type.Ref('cfError');
export const errors = { 400: Err, 401: Err, 403: Err, 404: Err, 413: Err, 415: Err, 422: Err, 503: Err };

export const ItemScore = Type.Object({ id: Type.String(), score: Type.Number() });

/** A recommended item, with the liked items that contributed most when `explain` is asked for. */
const ListedItem = Type.Object({
  id: Type.String(),
  score: Type.Number(),
  because: Type.Optional(
    Type.Array(Type.Object({ id: Type.String(), contribution: Type.Number() }), {
      description: 'With explain: the liked items that contributed most to the score, largest first.',
    }),
  ),
});

const Ignored = Type.Object(
  {
    exclude: Type.Array(Type.String()),
    candidates: Type.Array(Type.String()),
    liked: Type.Optional(Type.Array(Type.String())),
  },
  { description: 'Ids the model does not know: left out of the request, listed here.' },
);

/** What every answer about a model carries. */
const Envelope = {
  model: Type.String({ description: 'The model that answered.' }),
  version: Type.String({ description: 'Its version (the published folder it was loaded from).' }),
};

export function listSchemas(l: Limits) {
  const K = Type.Integer({ minimum: 1, maximum: l.maxK, default: 10, description: `How many (1 to ${l.maxK}).` });
  const IdList = Type.Array(Id, { maxItems: l.maxIds });
  const Filters = {
    k: K,
    model: Type.Optional(Type.String({ minLength: 1, description: 'A model name from GET /models (default: the server\'s default).' })),
    exclude: Type.Optional(Type.Array(Id, { maxItems: l.maxIds, description: 'Item ids never to return (repeat the parameter for several).' })),
    candidates: Type.Optional(Type.Array(Id, { maxItems: l.maxIds, description: 'Only these item ids may be returned.' })),
  };
  const ListReply = Type.Object({
    ...Envelope,
    source: Type.Union([Type.Literal('model'), Type.Literal('feedback'), Type.Literal('fold-in'), Type.Literal('popularity')], {
      description: 'model: the user\'s trained factors; feedback: fold-in of their history plus feedback; fold-in: the liked items; popularity: the fallback for an unknown user.',
    }),
    items: Type.Array(ListedItem),
    ignored: Ignored,
  });
  const Explain = Type.Optional(
    Type.Boolean({ description: 'Add each item\'s because list (models that explain: knn, content, ease, als, hybrid; others answer 422).' }),
  );
  const Liked = Type.Union([Id, Type.Object({ item: Id, weight: Type.Optional(Type.Number({ minimum: 0, maximum: 1e6 })) }, { additionalProperties: false })]);
  return {
    getRecommend: {
      summary: 'Top-k items for a user (seen items left out)',
      querystring: Type.Object({ user: Id, ...Filters, explain: Explain }, { additionalProperties: false }),
      response: { 200: ListReply, ...errors },
    },
    postRecommend: {
      summary: 'Top-k items for someone the model has never seen, from the items they liked (fold-in); the liked items are left out',
      body: Type.Object(
        {
          liked: Type.Array(Liked, { minItems: 1, maxItems: l.maxLiked, description: 'Item ids, or { item, weight } (weight as a training value, default 1).' }),
          ...Filters,
          explain: Explain,
        },
        { additionalProperties: false },
      ),
      response: { 200: ListReply, ...errors },
    },
    similarItems: {
      summary: 'Items most similar to an item (cosine of the factors)',
      params: Type.Object({ item: Id }),
      querystring: Type.Object({ k: K, model: Filters.model, exclude: Filters.exclude, candidates: Filters.candidates }, { additionalProperties: false }),
      response: { 200: Type.Object({ ...Envelope, item: Type.String(), items: Type.Array(ItemScore), ignored: Ignored }), ...errors },
    },
    similarUsers: {
      summary: 'Users most similar to a user (cosine of the factors)',
      params: Type.Object({ id: Id }),
      querystring: Type.Object({ k: K, model: Filters.model }, { additionalProperties: false }),
      response: { 200: Type.Object({ ...Envelope, user: Type.String(), users: Type.Array(ItemScore) }), ...errors },
    },
    history: {
      summary: "A user's items: training rows and feedback since",
      params: Type.Object({ id: Id }),
      querystring: Type.Object({ model: Filters.model }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          ...Envelope,
          user: Type.String(),
          known: Type.Boolean({ description: 'Whether the model was trained with this user.' }),
          items: Type.Array(Type.Object({ id: Type.String(), value: Type.Number(), source: Type.Union([Type.Literal('train'), Type.Literal('feedback')]) })),
        }),
        ...errors,
      },
    },
    feedback: {
      summary: 'Record interactions: on disk before the answer, applied to the next recommendations, replayed on restart',
      body: Type.Array(
        Type.Object(
          {
            user: Id,
            item: Id,
            value: Type.Number({ minimum: 0, maximum: 1e6, default: 1, description: 'As a training value (default 1).' }),
            timestamp: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e11, description: 'Unix seconds (default: now).' })),
          },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: l.maxFeedback },
      ),
      response: {
        200: Type.Object({
          accepted: Type.Integer(),
          unknownItems: Type.Array(Type.String(), { description: "Items the default model lacks: logged (training data for the next model), not applied." }),
          log: Type.Object({ entries: Type.Integer(), bytes: Type.Integer() }),
        }),
        ...errors,
      },
    },
  };
}

export const ModelInfo = Type.Object({
  name: Type.String(),
  status: Type.Union([Type.Literal('ready'), Type.Literal('loading'), Type.Literal('failed')]),
  default: Type.Boolean(),
  type: Type.Union([Type.String(), Type.Null()]),
  version: Type.Union([Type.String(), Type.Null()]),
  users: Type.Union([Type.Integer(), Type.Null()]),
  items: Type.Union([Type.Integer(), Type.Null()]),
  params: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  valid: Type.Union([Type.Record(Type.String(), Type.Number()), Type.Null()]),
  test: Type.Union([Type.Record(Type.String(), Type.Number()), Type.Null()]),
  loadedAt: Type.Union([Type.String(), Type.Null()]),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String(), at: Type.String() }), Type.Null()]),
});
