// The ceiling of the serving bench: Fastify answering GET and POST /recommend with a fixed
// 10-item list, in the response shape and serializer of `cf-native serve`, and no model.
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const Item = { type: 'object', properties: { id: { type: 'string' }, score: { type: 'number' } } };
const reply = {
  200: {
    type: 'object',
    properties: {
      model: { type: 'string' },
      version: { type: 'string' },
      source: { type: 'string' },
      items: { type: 'array', items: Item },
      ignored: { type: 'object', properties: { exclude: { type: 'array', items: { type: 'string' } }, candidates: { type: 'array', items: { type: 'string' } } } },
    },
  },
};
const fixed = {
  model: 'bare',
  version: 'v',
  source: 'model',
  items: Array.from({ length: 10 }, (_, i) => ({ id: String(1000 + i), score: 1 - i / 100 })),
  ignored: { exclude: [], candidates: [] },
};
app.get('/recommend', { schema: { response: reply } }, async () => fixed);
app.post('/recommend', { schema: { response: reply } }, async () => fixed);
const address = await app.listen({ host: '127.0.0.1', port: 0 });
console.log(`Server listening at ${address}`);
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
