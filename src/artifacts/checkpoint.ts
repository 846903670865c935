// What `cf-native train --resume` continues from: OUTPUT/.checkpoint holds the run's
// fingerprint and the models already saved (run.json), and for the model being fitted its
// latest checkpoint (<name>.json naming <name>.<iteration>.state). Each file is written
// atomically and the state before the JSON that names it, so a kill at any moment leaves
// either the previous checkpoint or the new one, never a torn one; the state's checksum is
// checked by the core on resume.
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CfError, CfErrorCode } from '../errors.js';
import type { FitCheckpoint } from '../models/types.js';
import { writeFileAtomic, writeJsonAtomic } from './atomic.js';

const DIR = '.checkpoint';
const FORMAT = 1;

interface RunState {
  format: number;
  /** Of what the models' results depend on: config (but checkpoint_every and output) and data. */
  fingerprint: string;
  /** Names of the models saved so far, in config order. */
  completed: string[];
}

interface FitMeta {
  format: number;
  fingerprint: string;
  model: string;
  type: string;
  /** Index of the params combination being fitted, for a model with a grid. */
  combination: number;
  iteration: number;
  iterations: number;
  state_file: string;
  state_bytes: number;
  curve: object[];
}

/** The fit being resumed: which combination of the model's grid, and its checkpoint. */
export interface ResumePoint {
  combination: number;
  checkpoint: FitCheckpoint;
}

export class RunCheckpoints {
  private constructor(
    readonly dir: string,
    private readonly fingerprint: string,
    private state: RunState,
  ) {}

  /**
   * A fresh run (`resume` false) clears what an earlier run left; a resumed one requires the
   * interrupted run's fingerprint and keeps what it saved.
   */
  static async open(output: string, fingerprint: string, resume: boolean, configName: string): Promise<RunCheckpoints> {
    const dir = join(output, DIR);
    if (!resume) {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      const state: RunState = { format: FORMAT, fingerprint, completed: [] };
      await writeJsonAtomic(join(dir, 'run.json'), state);
      return new RunCheckpoints(dir, fingerprint, state);
    }
    const path = join(dir, 'run.json');
    let state: RunState;
    try {
      state = JSON.parse(await readFile(path, 'utf8')) as RunState;
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      throw new CfError(
        CfErrorCode.IO,
        missing
          ? `--resume: ${output} holds no interrupted run (no ${join(DIR, 'run.json')}: the last run finished, or none was started there); run without --resume`
          : `--resume: ${path}: ${(err as Error).message}`,
      );
    }
    if (state.format !== FORMAT || !Array.isArray(state.completed)) throw new CfError(CfErrorCode.DATA, `--resume: ${path}: not a run checkpoint of this version`);
    if (state.fingerprint !== fingerprint) {
      throw new CfError(
        CfErrorCode.CONFIG,
        `--resume: ${configName} or its data changed since the run in ${output} was interrupted (its models would not be the same); run without --resume to start over`,
      );
    }
    return new RunCheckpoints(dir, fingerprint, state);
  }

  isCompleted(model: string): boolean {
    return this.state.completed.includes(model);
  }

  /** After a model's folder is saved: it is loaded, not refitted, on resume; its fit checkpoint goes. */
  async completed(model: string): Promise<void> {
    this.state = { ...this.state, completed: [...this.state.completed, model] };
    await writeJsonAtomic(join(this.dir, 'run.json'), this.state);
    await this.removeFit(model);
  }

  /** The checkpoint `model` was stopped at, if any. */
  async resumePoint(model: string, type: string): Promise<ResumePoint | null> {
    const path = join(this.dir, `${model}.json`);
    let meta: FitMeta;
    try {
      meta = JSON.parse(await readFile(path, 'utf8')) as FitMeta;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new CfError(CfErrorCode.DATA, `--resume: ${path}: ${(err as Error).message}`);
    }
    if (meta.format !== FORMAT || meta.fingerprint !== this.fingerprint || meta.type !== type || !Array.isArray(meta.curve)) {
      throw new CfError(CfErrorCode.DATA, `--resume: ${path} does not belong to this run's ${model} (${type}); run without --resume to start over`);
    }
    const statePath = join(this.dir, meta.state_file);
    const state = await readFile(statePath).catch((err: Error) => {
      throw new CfError(CfErrorCode.IO, `--resume: ${statePath}: ${err.message}`);
    });
    if (state.byteLength !== meta.state_bytes) {
      throw new CfError(CfErrorCode.DATA, `--resume: ${statePath} has ${state.byteLength} bytes where ${meta.state_bytes} were written`);
    }
    return {
      combination: meta.combination,
      checkpoint: { type, iteration: meta.iteration, iterations: meta.iterations, state, curve: meta.curve },
    };
  }

  /** The `save` of FitOptions.checkpoint for one fit of `model`. */
  saver(model: string, combination: number): (c: FitCheckpoint) => Promise<void> {
    return async (c) => {
      const stateFile = `${model}.${c.iteration}.state`;
      await writeFileAtomic(join(this.dir, stateFile), c.state);
      const meta: FitMeta = {
        format: FORMAT,
        fingerprint: this.fingerprint,
        model,
        type: c.type,
        combination,
        iteration: c.iteration,
        iterations: c.iterations,
        state_file: stateFile,
        state_bytes: c.state.byteLength,
        curve: c.curve,
      };
      await writeJsonAtomic(join(this.dir, `${model}.json`), meta);
      await this.removeStates(model, stateFile);
    };
  }

  /** The run finished: nothing is left to resume. */
  async finished(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  private async removeFit(model: string): Promise<void> {
    await rm(join(this.dir, `${model}.json`), { force: true });
    await this.removeStates(model, null);
  }

  private async removeStates(model: string, keep: string | null): Promise<void> {
    const prefix = `${model}.`;
    for (const f of await readdir(this.dir)) {
      if (f !== keep && f.startsWith(prefix) && /^\d+\.state$/.test(f.slice(prefix.length))) await rm(join(this.dir, f), { force: true });
    }
  }
}
