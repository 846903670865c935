// Model type -> how to fit it and how to wrap a loaded one. The pipeline, the artifacts, the
// config and the CLI go through here and never name a model type; the parameter specs come
// from the core (spec.generated.ts). Adding a model: one entry below.
import { CfError, CfErrorCode } from '../errors.js';
import { ALS } from './als.js';
import { BPR, BPR_DEFAULTS } from './bpr.js';
import { MF } from './mf.js';
import { EASE } from './ease.js';
import { KNN } from './knn.js';
import { Content } from './content.js';
import { Hybrid } from './hybrid.js';
import { type ModelType, MODEL_TYPES } from './params.js';
import { Popularity } from './popularity.js';
import type { Recommender } from './recommender.js';
import { SVD } from './svd.js';
import type { FitOptions, Matrix, NativeModel } from './types.js';

export interface ModelEntry {
  /** Fit from snake_case or camelCase params (checked by the core). */
  fit(train: Matrix, params: Record<string, unknown>, opts: FitOptions): Promise<Recommender>;
  /** The class for a native model of this type (after loading). */
  wrap(inner: NativeModel): Recommender;
  /** Whether a fit with these params draws from explicit negatives (FitOptions.negatives). */
  drawsNegatives?(params: Record<string, unknown>): boolean;
  /**
   * Which way the `valid` figure of this model's FitProgress improves (bpr: NDCG, up; mf: RMSE,
   * down); absent for models that report none. Lets `tune` prune a trial mid-fit.
   */
  progressDirection?: 'higher' | 'lower';
  /** Whether its fit runs over iterations that take FitOptions.checkpoint, resume and stop. */
  resumable?: boolean;
  /** Whether its fit reads item texts (FitOptions.items, from the config's data.items). */
  takesItems?: boolean;
  /** Whether it is fitted from other models of the config (FitOptions.blend, from its `blend:` block). */
  blendsParts?: boolean;
}

const REGISTRY: Record<ModelType, ModelEntry> = {
  als: { fit: (train, params, opts) => ALS.fit(train, params, opts), wrap: ALS.wrap, resumable: true },
  bpr: {
    fit: (train, params, opts) => BPR.fit(train, params, opts),
    wrap: BPR.wrap,
    drawsNegatives: (params) => (params.sampler ?? BPR_DEFAULTS.sampler) === 'mixed',
    progressDirection: 'higher',
    resumable: true,
  },
  mf: { fit: (train, params, opts) => MF.fit(train, params, opts), wrap: MF.wrap, progressDirection: 'lower', resumable: true },
  popularity: { fit: async (train, params) => Popularity.fit(train, params), wrap: Popularity.wrap },
  svd: { fit: (train, params, opts) => SVD.fit(train, params, opts), wrap: SVD.wrap },
  ease: { fit: (train, params, opts) => EASE.fit(train, params, opts), wrap: EASE.wrap },
  knn: { fit: (train, params, opts) => KNN.fit(train, params, opts), wrap: KNN.wrap },
  content: { fit: (train, params, opts) => Content.fit(train, params, opts), wrap: Content.wrap, takesItems: true },
  hybrid: {
    fit: (train, params, opts) => Hybrid.fit(train, params, opts),
    // A native hybrid alone has lost its parts' handles; loadModel builds it from the parts.
    wrap: () => {
      throw new CfError(CfErrorCode.UNSUPPORTED, 'a hybrid is built from its parts (Hybrid.build, or loadModel on its folder)');
    },
    blendsParts: true,
  },
};

/** The type every evaluation reports beside the configured models. */
export const BASELINE_TYPE: ModelType = 'popularity';

export function modelEntry(type: string): ModelEntry {
  const e = (REGISTRY as Record<string, ModelEntry | undefined>)[type];
  if (!e) throw new CfError('ERR_CF_INVALID_ARG', `unknown model type ${JSON.stringify(type)} (known: ${MODEL_TYPES.join(', ')})`);
  return e;
}

export function fitModel(type: string, train: Matrix, params: Record<string, unknown>, opts: FitOptions = {}): Promise<Recommender> {
  return modelEntry(type).fit(train, params, opts);
}

export function wrapModel(inner: NativeModel): Recommender {
  return modelEntry(inner.type).wrap(inner);
}
