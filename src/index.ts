// Public API of cf-native.
export { ALS, ALS_DEFAULTS, type AlsParams, type FitOptions, type FitProgress, type FoldInOptions } from './models/als.js';
export { Popularity } from './models/popularity.js';
export type { EvalResult, EvaluateOptions, Matrix, RecommendOptions, TopK } from './models/types.js';
export { loadDataset, datasetFromArrays, splitDataset, matrixFromCoo, type Dataset, type LoadOptions, type SplitOptions, type Splits } from './data.js';
export { loadModel, saveModel, type LoadedModel, type SaveInfo } from './artifacts/model-io.js';
export { loadConfig, parseConfig, type Config } from './config/index.js';
export { runTrain, type TrainReport, type ModelResult } from './pipeline/train.js';
export { demoConfig, EMBEDDED_RATINGS } from './pipeline/demo.js';
export { CfError, isCfError } from './errors.js';
