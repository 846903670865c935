// The models a server answers from. Each is loaded fully in the background and swapped in
// with one assignment once it has loaded; a request holds the `Served` it started with, so
// a swap never mixes two versions in one answer, and a version that fails to load leaves the
// old one serving (its error is logged and shown in /models).
import { createHash } from 'node:crypto';
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { CfError } from '../errors.js';
import { loadModel } from '../artifacts/model-io.js';
import { Popularity } from '../models/popularity.js';
import type { Recommender } from '../models/recommender.js';

export interface Served {
  name: string;
  type: string;
  version: string;
  model: Recommender;
  userIds: string[];
  itemIds: string[];
  userIndex: Map<string, number>;
  itemIndex: Map<string, number>;
  meta: Record<string, unknown>;
  /** `valid` and `test` of metrics.json, when the model was written by `cf-native train`. */
  metrics: { valid: Record<string, number> | null; test: Record<string, number> | null };
  loadedAt: Date;
  /** Popularity over this model's training matrix, built on first use (the fallback list). */
  popularity(): Recommender;
}

export interface SlotStatus {
  name: string;
  path: string;
  status: 'ready' | 'loading' | 'failed';
  error: { code: string; message: string; at: string } | null;
  served: Served | null;
}

class Slot {
  served: Served | null = null;
  loading: Promise<boolean> | null = null;
  error: { code: string; message: string; at: string } | null = null;
  /** What the folder resolved to at the last load attempt (version folder, model.json mtime). */
  seen = '';

  constructor(
    readonly name: string,
    readonly path: string,
  ) {}
}

export interface StoreEvents {
  loaded?(s: Served, previous: Served | null): void;
  failed?(name: string, err: Error): void;
}

/** A folder is a model when it holds model.json; otherwise its subfolders with one are. */
async function discover(root: string): Promise<{ single: boolean; names: string[] }> {
  const isModel = (dir: string) => stat(join(dir, 'model.json')).then((s) => s.isFile(), () => false);
  let st;
  try {
    st = await stat(root);
  } catch (err) {
    throw new CfError('ERR_CF_IO', `${root}: cannot open: ${(err as Error).message}`, { cause: err });
  }
  if (!st.isDirectory()) throw new CfError('ERR_CF_IO', `${root}: not a folder`);
  if (await isModel(root)) return { single: true, names: [basename(resolve(root))] };
  const names: string[] = [];
  for (const e of await readdir(root, { withFileTypes: true })) {
    if (e.name.startsWith('.') || !(e.isDirectory() || e.isSymbolicLink())) continue;
    if (await isModel(join(root, e.name))) names.push(e.name);
  }
  names.sort();
  return { single: false, names };
}

/** The version a folder is at: the id of the published version it links to, else model.json's hash. */
async function identify(dir: string): Promise<{ key: string; version: string; real: string }> {
  const real = await realpath(dir);
  const v = /~v-(.+)$/.exec(basename(real));
  const st = await stat(join(real, 'model.json'));
  const key = `${real}:${st.mtimeMs}:${st.size}`;
  if (v) return { key, version: v[1]!, real };
  const h = createHash('sha256').update(await readFile(join(real, 'model.json'))).digest('hex');
  return { key, version: h.slice(0, 12), real };
}

async function readMetrics(dir: string): Promise<Served['metrics']> {
  try {
    const m = JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8')) as Record<string, unknown>;
    const pick = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, number>) : null);
    return { valid: pick(m.valid), test: pick(m.test) };
  } catch {
    return { valid: null, test: null };
  }
}

function indexOf(ids: string[]): Map<string, number> {
  const m = new Map<string, number>();
  ids.forEach((id, i) => m.set(id, i));
  return m;
}

async function loadServed(name: string, dir: string): Promise<{ served: Served; key: string }> {
  // Resolved once: every file is read from the version that was identified, even if a
  // publish follows.
  const { key, version, real } = await identify(dir);
  const { model, userIds, itemIds, meta } = await loadModel(real);
  const metrics = await readMetrics(real);
  let pop: Recommender | null = null;
  const served: Served = {
    name,
    type: model.type,
    version,
    model,
    userIds,
    itemIds,
    userIndex: indexOf(userIds),
    itemIndex: indexOf(itemIds),
    meta,
    metrics,
    loadedAt: new Date(),
    popularity: () => (pop ??= model.type === 'popularity' ? model : Popularity.fit(model.train!)),
  };
  return { served, key };
}

export class ModelStore {
  private slots = new Map<string, Slot>();
  private timer: NodeJS.Timeout | null = null;
  private defaultName: string | null;

  private constructor(
    readonly root: string,
    private single: boolean,
    private readonly preferred: string | undefined,
    private readonly events: StoreEvents,
  ) {
    this.defaultName = preferred ?? null;
  }

  /** Discover and load every model under `root`; at least one must load. */
  static async open(root: string, o: { model?: string; events?: StoreEvents } = {}): Promise<ModelStore> {
    const { single, names } = await discover(root);
    if (names.length === 0) throw new CfError('ERR_CF_IO', `${root}: no model folder (a folder with model.json, or folders holding one)`);
    if (o.model !== undefined && !names.includes(o.model)) {
      throw new CfError('ERR_CF_INVALID_ARG', `model ${JSON.stringify(o.model)} is not under ${root} (there: ${names.join(', ')})`);
    }
    const store = new ModelStore(root, single, o.model, o.events ?? {});
    for (const n of names) store.slots.set(n, new Slot(n, single ? root : join(root, n)));
    await Promise.all([...store.slots.values()].map((s) => store.load(s)));
    if (![...store.slots.values()].some((s) => s.served)) {
      const first = [...store.slots.values()][0]!;
      throw new CfError(first.error?.code ?? 'ERR_CF_IO', `no model under ${root} could be loaded: ${first.error?.message}`);
    }
    store.pickDefault();
    return store;
  }

  /** The configured model, else the best on validation (first ndcg@K, then recall@K), else the first by name. */
  private pickDefault(): void {
    if (this.preferred !== undefined) {
      this.defaultName = this.preferred;
      return;
    }
    const ready = [...this.slots.values()].filter((s) => s.served);
    const score = (s: Slot) => {
      const v = s.served!.metrics.valid ?? s.served!.metrics.test;
      if (!v) return -Infinity;
      const key = Object.keys(v).filter((k) => k.startsWith('ndcg@')).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))[0];
      return key !== undefined ? v[key]! : -Infinity;
    };
    ready.sort((a, b) => score(b) - score(a) || a.name.localeCompare(b.name));
    this.defaultName = ready[0]?.name ?? null;
  }

  get defaultModel(): string | null {
    return this.defaultName;
  }

  /** The model a request names (or the default); undefined when unknown or never loaded. */
  get(name?: string): Served | undefined {
    const slot = this.slots.get(name ?? this.defaultName ?? '');
    return slot?.served ?? undefined;
  }

  has(name: string): boolean {
    return this.slots.has(name);
  }

  status(): SlotStatus[] {
    return [...this.slots.values()].map((s) => ({
      name: s.name,
      path: s.path,
      // failed: the last load failed (an older version may still be serving: see `served`).
      status: s.loading ? 'loading' : s.error || !s.served ? 'failed' : 'ready',
      error: s.error,
      served: s.served,
    }));
  }

  /**
   * Load a slot's folder if its version changed (or always, with `force`); true when a new
   * version is now served. A load already running is joined, not repeated.
   */
  private load(slot: Slot, force = false): Promise<boolean> {
    slot.loading ??= (async () => {
      try {
        const { key } = await identify(slot.path);
        if (!force && slot.served && key === slot.seen) return false;
        slot.seen = key;
        const loaded = await loadServed(slot.name, slot.path);
        const served = loaded.served;
        slot.seen = loaded.key;
        const previous = slot.served;
        slot.served = served;
        slot.error = null;
        this.events.loaded?.(served, previous);
        return true;
      } catch (err) {
        const e = err as CfError;
        slot.error = { code: e.code ?? 'ERR_CF_IO', message: e.message, at: new Date().toISOString() };
        this.events.failed?.(slot.name, e);
        return false;
      } finally {
        slot.loading = null;
      }
    })();
    return slot.loading;
  }

  /** Reload one model or all (and pick up model folders added under a train output). */
  async reload(name?: string, force = false): Promise<SlotStatus[]> {
    if (name !== undefined && !this.slots.has(name)) {
      throw new CfError('ERR_CF_INVALID_ARG', `unknown model ${JSON.stringify(name)}`);
    }
    if (name === undefined && !this.single) {
      const { names } = await discover(this.root).catch(() => ({ names: [] as string[] }));
      for (const n of names) if (!this.slots.has(n)) this.slots.set(n, new Slot(n, join(this.root, n)));
    }
    const slots = name === undefined ? [...this.slots.values()] : [this.slots.get(name)!];
    await Promise.all(slots.map((s) => this.load(s, force)));
    if (this.preferred === undefined && !this.get()) this.pickDefault();
    return this.status().filter((s) => slots.some((x) => x.name === s.name));
  }

  /** Check the folders every `ms` (a new published version or a rewritten model.json). */
  watch(ms: number): void {
    this.unwatch();
    if (ms <= 0) return;
    let busy = false;
    this.timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void Promise.all([...this.slots.values()].map((s) => this.load(s))).finally(() => (busy = false));
    }, ms);
    this.timer.unref();
  }

  unwatch(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Waits for loads in flight (so closing never races a swap). */
  async idle(): Promise<void> {
    await Promise.all([...this.slots.values()].map((s) => s.loading));
  }
}
