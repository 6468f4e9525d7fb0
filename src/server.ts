import { promises as fsp } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pino, type Logger } from 'pino';
import { AccessPolicy } from './auth/access.js';
import { type AccessConfig, loadAccessConfig } from './auth/config-file.js';
import { CommitStatuses } from './ci/statuses.js';
import { type Config, defaultConfig } from './config.js';
import { Baseline } from './control/baseline.js';
import { type Fault, FaultStore } from './control/faults.js';
import { type JournalEntry, type JournalFilter, RequestJournal } from './control/journal.js';
import { WorldGate } from './control/gate.js';
import { World } from './control/world.js';
import { EventBus, type FakelabEvent, type Listener } from './events/bus.js';
import { type Numbered, NumberedRing } from './control/ring.js';
import { GitBackend } from './githttp/backend.js';
import { presenterFor } from './gitlab/present.js';
import { Urls } from './gitlab/entities.js';
import type * as Wire from './gitlab/wire.js';
import { projectView } from './projects/view.js';
import { seedIfEmpty } from './fixtures/seed.js';
import { createApp } from './http/app.js';
import { compileParsers } from './http/params.js';
import { CommitComments } from './notes/comments.js';
import { ProjectRegistry } from './projects/registry.js';
import { JsonSidecarStore } from './store/sidecar.js';
import { loadTls, type TlsMaterial } from './tls.js';
import { UserDirectory } from './users.js';
import { type Delivery, HookDelivery } from './hooks/delivery.js';
import { HookDispatcher, type DispatcherServices } from './hooks/dispatcher.js';
import { HookStore } from './hooks/store.js';
import { versionEntity } from './gitlab/version.js';
import { DirectoryLock } from './util/dir-lock.js';
import { SpaceWatch } from './util/disk-space.js';

export interface StartOptions extends Partial<Config> {
  /** A pino logger to use instead of the default (stdout at `logLevel`). */
  logger?: Logger;
}

/**
 * idle → starting → running → closing → closed. A start that fails releases what it took and
 * ends closed. A server is started once; a new one is cheap.
 */
export type ServerState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

const NO_ACCESS_CONFIG: AccessConfig = { users: [], tokens: [], job_tokens: [], projects: {} };

/**
 * fakelab's composition root: start() builds the services (projects, access, store) over the
 * configured directories and listens; close() gives back everything start() took, so a host
 * that starts and closes servers all day (a test suite) ends with the descriptors it had.
 */
export class FakelabServer {
  /** The configuration in effect: defaults, then the options given; directories made absolute. */
  readonly config: Config;
  private current: ServerState = 'idle';
  private readonly givenLogger: Logger | undefined;
  private startup: Promise<void> | null = null;
  private shutdown: Promise<void> | null = null;
  private released: Promise<void> | null = null;
  // What start() took, in the order it took it; close() gives it back in reverse.
  private logger: Logger | null = null;
  private registry: ProjectRegistry | null = null;
  private policy: AccessPolicy | null = null;
  private store: JsonSidecarStore | null = null;
  private httpServer: http.Server | null = null;
  private tlsMaterial: TlsMaterial | null = null;
  private dataLock: DirectoryLock | null = null;
  private preloading: Promise<void> | null = null;
  private journal: RequestJournal | null = null;
  private faultStore: FaultStore | null = null;
  private eventLog: NumberedRing<FakelabEvent> | null = null;
  private stopLoggingEvents: (() => void) | null = null;
  private world: World | null = null;
  private git: GitBackend | null = null;
  /** GitBackend.start, begun with compose() (a git process and a folder of hooks, made while the projects are read). */
  private gitStarting: Promise<GitBackend | { unavailable: string }> | null = null;
  private hookStore: HookStore | null = null;
  private accessConfig: AccessConfig | null = null;
  private delivery: HookDelivery | null = null;
  private dispatcher: HookDispatcher | null = null;
  private readonly gate = new WorldGate();
  /** Every push and API write that moves a ref (see events/bus.ts); subscribe to follow them. */
  readonly events = new EventBus((err, event) => this.logger?.error({ err, project: event.project.path }, 'an event listener failed'));

  /** `events.subscribe`: calls `listener` with every event from now on; returns the function that stops it. */
  subscribe(listener: Listener): () => void {
    return this.events.subscribe(listener);
  }
  private readonly stopPreloading = new AbortController();

  constructor(options: StartOptions = {}) {
    const { logger, ...given } = options;
    this.givenLogger = logger;
    const config: Config = { ...defaultConfig(), ...stripUndefined(given) };
    config.reposDir = path.resolve(config.reposDir);
    config.dataDir = path.resolve(config.dataDir);
    this.config = config;
  }

  get state(): ServerState {
    return this.current;
  }

  /** The access configuration as loaded at start (users, tokens, projects). */
  get access(): AccessPolicy {
    if (!this.policy) throw new Error(`fakelab server is ${this.current}: nothing loaded yet`);
    return this.policy;
  }

  /** The logger in use once started (the given one, or the server's own). */
  get log(): Logger {
    if (!this.logger) throw new Error(`fakelab server is ${this.current}: nothing loaded yet`);
    return this.logger;
  }

  get port(): number {
    return this.address().port;
  }

  /** With a generated certificate (--tls): the CA file clients should trust. */
  get caFile(): string | undefined {
    return this.tlsMaterial?.caFile;
  }

  /** Base URL, e.g. http://127.0.0.1:40123 (the API is under /api/v4 and /api/v3). */
  get url(): string {
    const { host } = this.config;
    return `${this.tlsMaterial ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${this.port}`;
  }

  /** The request journal (see the README's "Control plane"): what clients sent to the API, oldest first. */
  requests(filter: JournalFilter = {}): JournalEntry[] {
    // Copies: the caller may keep or change them without touching the journal.
    return structuredClone(this.controlPlane().journal.list(filter));
  }

  clearRequests(): void {
    this.controlPlane().journal.clear();
  }

  /** GET /-/fakelab/hooks/deliveries's twin: every delivery attempt recorded (the last --journal-size), oldest first. */
  hookDeliveries(): Numbered<Delivery>[] {
    if (!this.delivery) throw new Error(`fakelab server is ${this.current}: no hooks`);
    return structuredClone(this.delivery.log.list());
  }

  /** Resolves once every hook event so far is built and every queued delivery has been attempted. */
  async hooksSettled(): Promise<void> {
    if (!this.dispatcher || !this.delivery) return;
    await this.dispatcher.settled();
    await this.delivery.idle();
  }

  /** The hooks (project and system) as stored, tokens included: for tests. */
  get hooks(): HookStore {
    if (!this.hookStore) throw new Error(`fakelab server is ${this.current}: no hooks`);
    return this.hookStore;
  }

  /** Adds a fault (a spec as POST /-/fakelab/faults takes it; a bad one throws FaultSpecError) and returns it with its id. */
  fault(spec: unknown): Fault {
    return this.controlPlane().faults.add(spec);
  }

  clearFaults(): void {
    this.controlPlane().faults.clear();
  }

  /**
   * POST /-/fakelab/reset's twin: projects, refs, statuses, comments, id counters, the journal
   * and the faults go back to what they were when start() finished. Requests in flight finish
   * first; those arriving meanwhile wait and see the restored state.
   */
  reset(): Promise<void> {
    return this.controlPlane().world.reset();
  }

  /**
   * POST /-/fakelab/projects's twin: builds the project a fixture describes (an object in the
   * fixture format, see fixtures/builder.ts) and resolves to its v4 project entity. A bad fixture
   * throws FixtureError, a path in use PathTakenError; either way nothing is written.
   */
  async seed(fixture: unknown): Promise<Wire.ProjectEntity> {
    const project = await this.controlPlane().world.seed(fixture);
    const view = await projectView(project, this.access.visibility(project.path), (u) => this.access.userByName(u));
    return presenterFor('v4', new Urls(this.config.externalUrl ?? this.url)).project(view) as Wire.ProjectEntity;
  }

  private controlPlane(): { journal: RequestJournal; faults: FaultStore; world: World } {
    if (!this.config.controlPlane) throw new Error('the control plane is off (--control-plane off)');
    if (!this.journal || !this.faultStore || !this.world) throw new Error(`fakelab server is ${this.current}: no control plane`);
    return { journal: this.journal, faults: this.faultStore, world: this.world };
  }

  private address(): AddressInfo {
    const address = this.current === 'running' ? this.httpServer?.address() : null;
    if (!address || typeof address === 'string') throw new Error(`fakelab server is ${this.current}, not listening`);
    return address;
  }

  /** Composes the services and listens; rejects (having released what it took) when it cannot. */
  start(): Promise<void> {
    if (this.current !== 'idle') return Promise.reject(new Error(`fakelab server is ${this.current}; start() is called once`));
    this.current = 'starting';
    this.startup = this.compose().then(
      () => {
        this.current = 'running';
      },
      async (err: unknown) => {
        await this.release();
        this.current = 'closed';
        throw err;
      },
    );
    return this.startup;
  }

  /**
   * Stops accepting requests and cuts open connections (keep-alive ones too), stops the
   * background preload after the repository it is reading, closes every repository's pack
   * files, waits for the store's writes in flight, and resolves when all of that is done.
   * Safe to call at any time, and more than once.
   */
  close(): Promise<void> {
    this.shutdown ??= (async () => {
      if (this.current === 'starting') await this.startup!.catch(() => undefined);
      if (this.current === 'idle' || this.current === 'running') this.current = 'closing';
      await this.release();
      this.current = 'closed';
    })();
    return this.shutdown;
  }

  private async compose(): Promise<void> {
    const { config } = this;
    this.logger = this.givenLogger ?? pino({ level: config.logLevel ?? 'info' });
    if (config.fixturesDir) await seedIfEmpty(config.reposDir, config.fixturesDir);
    await fsp.mkdir(config.dataDir, { recursive: true });
    // Before anything in it is read: a second process on the same data dir would lose writes.
    this.dataLock = await DirectoryLock.acquire(config.dataDir);
    // Its hooks folder is in the data root, so it starts once the lock is held.
    const gitStarting = (this.gitStarting = GitBackend.start(config.gitBinary, config.maxPushSize, config.dataDir));
    // Awaited below; a start that fails before that still closes what it made (release()).
    gitStarting.catch(() => undefined);
    const registry = (this.registry = new ProjectRegistry(config.reposDir, config.dataDir, this.logger));
    // A reset a kill interrupted is finished before anything is served (whether or not the
    // control plane is on now): the repositories it brings back are still in the trash.
    const interrupted = await Baseline.interrupted(config.dataDir);
    await registry.open(new Set(interrupted?.registry.projects.map((p) => p.id)));
    if (interrupted) await Baseline.finishInterrupted(config.dataDir, registry, interrupted, this.logger);
    // In the background, from now: the repositories' big files are checked on the other core
    // while the start goes on, and requests wait only for the repository they need.
    this.preloading = registry.preloadAll(this.stopPreloading.signal).catch(() => undefined);
    // A push or an API write moves a project's refs: its last activity is read again.
    this.events.subscribe((event) => registry.forgetFacts(event.project.id));
    const accessConfig = (this.accessConfig = config.configFile ? await loadAccessConfig(config.configFile) : NO_ACCESS_CONFIG);
    const access = (this.policy = AccessPolicy.fromConfig(accessConfig, config.token));
    const users = new UserDirectory();
    for (const user of access.users) users.add(user);
    access.useCreatedFacts((projectPath) => registry.createdFacts(projectPath));
    // Refuses to start (with the file's name) when the id file is corrupt.
    // One per server: a full disk is logged once per episode, for the store and the repositories alike.
    const space = new SpaceWatch(this.logger, { 'data directory': config.dataDir, 'repositories directory': config.reposDir });
    const store = (this.store = new JsonSidecarStore(config.dataDir, { space, projectName: (id) => registry.pathOf(id) }));
    await store.open();

    const statuses = new CommitStatuses(store);
    const comments = new CommitComments(store);
    // Webhooks: the stored and declared hooks, their delivery queues, and what feeds them.
    const hookStore = (this.hookStore = new HookStore(config.dataDir));
    const projectIds = new Map((await registry.list()).map((p) => [p.path.toLowerCase(), p.id]));
    await hookStore.open(this.accessConfig?.hooks ?? [], (p) => projectIds.get(p.toLowerCase()));
    // Declared hooks of a project that did not exist at start apply when it appears (API, seed, rescan).
    registry.observeAdded((project) => hookStore.applyDeclared(project));
    const baseUrl = () => config.externalUrl ?? this.url;
    const delivery = (this.delivery = new HookDelivery(hookStore, {
      timeoutMs: config.hookTimeout,
      dataDir: config.dataDir,
      version: versionEntity('v4').version,
      instance: baseUrl,
      keep: config.journalSize,
      logger: this.logger,
    }));
    // Damaged delivery records stop the start here, naming the file.
    await delivery.open();
    const hookServices: DispatcherServices = { registry, access, users, statuses, comments, events: this.events, hooks: hookStore, delivery, baseUrl, logger: this.logger };
    const dispatcher = (this.dispatcher = new HookDispatcher(hookServices));

    this.journal = new RequestJournal(config.journalSize);
    this.faultStore = new FaultStore();
    // GET /-/fakelab/events: the last --journal-size events, kept only with the control plane on.
    const eventLog = (this.eventLog = new NumberedRing<FakelabEvent>(config.journalSize, 'journal size'));
    if (config.controlPlane) {
      this.stopLoggingEvents = this.events.subscribe((event) => eventLog.record(event));
      // What a reset goes back to: this moment, before the first request.
      const baseline = new Baseline(config.dataDir, registry, store);
      await baseline.capture();
      this.world = new World(this.gate, registry, baseline, this.journal, this.faultStore, eventLog, [hookStore, { reset: () => delivery.clear() }]);
    }
    // Without a git binary, fakelab serves its API all the same; the git URLs say why they cannot.
    const git = await gitStarting;
    if (git instanceof GitBackend) this.git = git;
    else this.logger.warn(`git over HTTP is unavailable: ${git.unavailable}`);
    const app = createApp({
      registry,
      access,
      users,
      statuses,
      comments,
      externalUrl: config.externalUrl,
      logger: this.logger,
      space,
      dataDir: config.dataDir,
      journal: this.journal,
      faults: this.faultStore,
      gate: this.gate,
      events: this.events,
      eventLog,
      world: this.world,
      controlPlane: config.controlPlane,
      git,
      hooks: hookStore,
      delivery,
      hookServices,
      hookEvents: dispatcher,
    });
    // HTTPS when asked: Express's req.protocol then says https, so web_url, Link and clone URLs follow.
    const tls = (this.tlsMaterial = await loadTls({ certFile: config.tlsCert, keyFile: config.tlsKey, generate: config.tls ?? false, dataDir: config.dataDir, host: config.host, externalUrl: config.externalUrl }));
    // Slow, silent and idle clients are cut off within seconds (Node's defaults hold sockets for minutes).
    const limits = { headersTimeout: config.headerTimeout, requestTimeout: config.requestTimeout, keepAliveTimeout: 5000, connectionsCheckingInterval: Math.min(1000, config.headerTimeout) };
    const server = (this.httpServer = tls ? https.createServer({ key: tls.key, cert: tls.cert, ...limits }, app) : http.createServer(limits, app));
    limitConnections(server, config.maxConnections, tls !== null);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    // The build precompiles every route's parameter schema; any it did not see (a build without
    // that step) is compiled once the start is over (after a second), so the first request of each
    // kind finds its own ready.
    const stop = this.stopPreloading.signal;
    setTimeout(() => void compileParsers(stop).catch((err: unknown) => this.logger?.error({ err }, 'a route\'s parameter schema does not compile')), 1000).unref();
  }

  /**
   * Gives back what compose() took, however far it got, in reverse order; every step runs even
   * when an earlier one fails, and the first failure is reported. Runs once.
   */
  private release(): Promise<void> {
    this.released ??= (async () => {
      const server = this.httpServer;
      const logger = this.logger;
      const steps: (() => Promise<void> | undefined)[] = [
        () => (server?.listening ? closeHttpServer(server) : undefined),
        () => {
          this.stopPreloading.abort();
          return this.preloading ?? undefined;
        },
        // Webhooks: no more payloads, queued deliveries dropped, calls in flight cut (their sockets closed).
        () => this.dispatcher?.close(),
        () => this.delivery?.close(),
        // A reset or a deletion under way finishes before the registry and the store close under it.
        () => this.gate.exclusive(async () => undefined),
        () => {
          // Memory only: dropped, so a closed server holds no request bodies.
          this.journal?.clear();
          this.faultStore?.clear();
          this.stopLoggingEvents?.();
          this.eventLog?.clear();
          this.journal = this.faultStore = this.world = this.eventLog = this.stopLoggingEvents = null;
          return undefined;
        },
        // After the gate: no push is running any more to ask the hooks anything.
        async () => {
          const git = this.git ?? (await this.gitStarting?.catch(() => null));
          if (git instanceof GitBackend) await git.close();
        },
        () => this.registry?.close(),
        () => this.store?.close(),
        () => this.dataLock?.release(),
        // A logger of our own may still hold lines for stdout; one given to us is the host's.
        () => (logger && !this.givenLogger ? new Promise<void>((resolve) => logger.flush(() => resolve())) : undefined),
      ];
      let failure: unknown = null;
      for (const step of steps) {
        try {
          await step();
        } catch (err) {
          failure ??= err;
        }
      }
      if (failure) throw failure;
    })();
    return this.released;
  }
}

/**
 * At most `max` open connections. Past it, a plain-HTTP client reads a 503 (GitLab's error shape)
 * before the socket closes; over TLS there is no HTTP yet to answer with, so it is closed.
 */
function limitConnections(server: http.Server, max: number, tls: boolean): void {
  let open = 0;
  const body = JSON.stringify({ message: '503 Service Unavailable: too many connections' });
  server.on('connection', (socket) => {
    if (open >= max) {
      if (tls) socket.destroy();
      else socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      return;
    }
    open++;
    socket.once('close', () => open--);
  });
}

/** Stops listening and cuts every connection, idle keep-alive ones and those mid-request. */
function closeHttpServer(server: http.Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
