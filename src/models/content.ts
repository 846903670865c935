import { CfError } from '../errors.js';
import { call, callAsync, checkMatrix, native } from '../native.js';
import { checkOptionsObject } from '../options.js';
import { defaultsOf, type ParamsOf } from './params.js';
import { checkFitOptions, Recommender } from './recommender.js';
import type { FitOptions, Matrix, NativeModel } from './types.js';

/** content options (camelCase); names, bounds and defaults come from the core's spec. */
export type ContentParams = ParamsOf<'content'>;

export const CONTENT_DEFAULTS = Object.freeze(defaultsOf('content', { camelCase: true })) as Readonly<Required<ContentParams>>;

type Items = NonNullable<FitOptions['items']>;

function checkItems(items: FitOptions['items']): Items {
  if (!items) throw new CfError('ERR_CF_INVALID_ARG', 'items: content needs the item side file ({ path, id, text, ids }; in a config, data.items: { path, id, text })');
  checkOptionsObject('items', items);
  return items;
}

/**
 * Content similarity: TF-IDF over text columns of an item side file (tokens of titles and
 * genres such as `Action|Comedy`, sublinear tf, min/max document frequency), cosine
 * neighbours in Rust; a user's scores sum the neighbour similarities of their items, so items
 * nobody interacted with (but with text) can be recommended and have similar lists.
 */
export class Content extends Recommender {
  static async fit(data: Matrix, params: ContentParams = {}, opts: FitOptions = {}): Promise<Content> {
    checkMatrix('data', data);
    checkOptionsObject('params', params);
    checkFitOptions(opts, ['signal', 'valid', 'onProgress', 'items']);
    const it = checkItems(opts.items);
    const model = new Content(await callAsync(() => native().contentFit(data, { ...params }, { path: it.path, id: it.id, text: it.text }, it.ids, opts.signal)));
    opts.signal?.throwIfAborted();
    model.train = data;
    return model;
  }

  static fitSync(data: Matrix, params: ContentParams = {}, opts: Pick<FitOptions, 'items'> = {}): Content {
    checkMatrix('data', data);
    checkOptionsObject('params', params);
    const it = checkItems(opts.items);
    const model = new Content(call(() => native().contentFitSync(data, { ...params }, { path: it.path, id: it.id, text: it.text }, it.ids)));
    model.train = data;
    return model;
  }

  static wrap(inner: NativeModel): Content {
    return new Content(inner);
  }
}
