// Public API of cf-native.
export { ALS, ALS_DEFAULTS, type AlsParams, type AlsIteration } from './models/als.js';
export { BPR, BPR_DEFAULTS, type BprParams, type BprEpoch, type BprProgress, type BprFitOptions } from './models/bpr.js';
export { MF, MF_DEFAULTS, type MfParams, type MfEpoch, type MfProgress, type MfFitOptions } from './models/mf.js';
export { SVD, SVD_DEFAULTS, type SvdParams, type SvdInfo } from './models/svd.js';
export { EASE, EASE_DEFAULTS, type EaseParams } from './models/ease.js';
export { Content, CONTENT_DEFAULTS, type ContentParams } from './models/content.js';
export { Hybrid, HYBRID_DEFAULTS, type HybridParams, type HybridPart, type HybridTuning, type HybridBuildOptions, type HybridExplanation, type PartExplanation } from './models/hybrid.js';
export { KNN, KNN_DEFAULTS, type KnnParams, type KnnExplanation, type Cooccurrence, type CooccurrenceOptions } from './models/knn.js';
export { Popularity } from './models/popularity.js';
export { NO_ITEM, Recommender } from './models/recommender.js';
export { fitModel, modelEntry, BASELINE_TYPE } from './models/registry.js';
export { MODEL_TYPES, defaultsOf, specOf, type ModelType, type ParamsOf, type ResolvedParams } from './models/params.js';
export { MODEL_SPECS } from './models/spec.generated.js';
export type {
  EvalResult,
  EvaluateOptions,
  Explanation,
  FitCheckpoint,
  FitOptions,
  FitProgress,
  FoldInOptions,
  ListFilters,
  Lists,
  Matrix,
  PerUserMetrics,
  RecommendOptions,
  ScoreStats,
  SimilarOptions,
  TopK,
} from './models/types.js';
export { loadDataset, datasetFromArrays, splitDataset, matrixFromCoo, type Dataset, type LoadOptions, type SplitOptions, type Splits } from './data.js';
export { loadModel, saveModel, type LoadedModel, type SaveInfo } from './artifacts/model-io.js';
export {
  exportFactors,
  exportRecommendations,
  exportSimilarItems,
  type ExportFactorsOptions,
  type ExportOptions,
  type ExportRecommendationsOptions,
  type ExportSimilarOptions,
  type ExportResult,
  type ListFormat,
} from './artifacts/lists.js';
export { loadConfig, parseConfig, type Config } from './config/index.js';
export { runTrain, type TrainReport, type ModelResult } from './pipeline/train.js';
export {
  exportSparkModel,
  importSparkModel,
  readSparkModel,
  fitWithSpark,
  probeSpark,
  sparkPython,
  sparkAlsParams,
  SPARK_PYTHON_ENV,
  ERR_SPARK,
  ERR_SPARK_SETUP,
  type SparkSettings,
  type SparkProbe,
  type SparkRunInfo,
} from './spark/index.js';
export { runTune, candidates, pickBest, DEFAULT_TUNING, defaultSpace, defaultTrials, TUNING_FILE, BEST_FILE, type DataShape, type TuneHooks, type TuneReport, type TrialRecord, type TuningFile } from './tune/index.js';
export {
  buildLeaderboard,
  formatLeaderboard,
  BOOTSTRAP_DEFAULTS,
  type BootstrapOptions,
  type Leaderboard,
  type LeaderboardCell,
  type LeaderboardInput,
  type LeaderboardRow,
} from './leaderboard/index.js';
export { demoConfig, EMBEDDED_RATINGS } from './pipeline/demo.js';
export { CfError, isCfError } from './errors.js';
