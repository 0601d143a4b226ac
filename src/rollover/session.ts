// One run's working set: config, the locked state store, lazily created DNS provider and resolver,
// the clock, and the event log. Steps in this folder take a Session and one rollover.
import type { LoadedConfig } from '../config/load.js';
import { listConfiguredZones, type CertificateEntry } from '../config/schema.js';
import type { DkimEntry } from '../config/dkim-schema.js';

export type CredentialKindName = 'tls' | 'dkim';
import type { CommandContext } from '../commands/context.js';
import type { RolloverPolicy } from '../core/rollover.js';
import { emptyEntryState, type EntryState, type State } from '../core/state.js';
import type { DnsProvider } from '../providers/types.js';
import type { Resolver, Nameserver } from '../io/resolver.js';
import { formatHostPort, parseHostPort } from '../io/host-port.js';
import { StateStore } from '../io/state-store.js';
import { UsageError } from '../errors.js';

export interface Session {
  ctx: CommandContext;
  loaded: LoadedConfig;
  store: StateStore;
  state: State;
  /** The state file's text as loaded: save() skips identical content. */
  loadedText: string;
  policy: RolloverPolicy;
  dryRun: boolean;
  now(): Date;
  provider(): Promise<DnsProvider>;
  resolver(): Promise<Resolver>;
  /** Authoritative servers of a zone: dns.nameservers, or the zone's NS set asked at the primary. */
  nameservers(zone: string): Promise<Nameserver[]>;
  /** The certificates[] entry `id` (UsageError when there is none). */
  entry(id: string): CertificateEntry;
  /** The dkim[] entry `id` (UsageError when there is none). */
  dkimEntry(id: string): DkimEntry;
  /** Which kind of credential an id is ("tls" for certificates[], "dkim" for dkim[]). */
  kindOf(id: string): CredentialKindName;
  /** The id's state, in the map of its kind (created empty). */
  entryState(id: string): EntryState;
  /** The policy for one id: a DKIM entry keeps the old selector `retain` after the switch. */
  policyFor(id: string): RolloverPolicy;
  event(event: Record<string, unknown>): void;
  save(): boolean;
}

/** `lockWaitMs`: how long to wait for a busy lock (default LOCK_WAIT_MS), then LockBusyError (75). */
export async function openSession(ctx: CommandContext, loaded: LoadedConfig, opts: { lock: boolean; lockWaitMs?: number }): Promise<Session> {
  const store = new StateStore(loaded.config.stateDir);
  if (!ctx.options.dryRun) store.ensureDir();
  if (opts.lock && !ctx.options.dryRun) await store.lock(opts.lockWaitMs);
  let loadedState;
  try {
    loadedState = store.load();
  } catch (err) {
    store.unlock();
    throw err;
  }
  const { config } = loaded;
  let provider: Promise<DnsProvider> | undefined;
  let resolver: Promise<Resolver> | undefined;
  const nsCache = new Map<string, Promise<Nameserver[]>>();
  const s: Session = {
    ctx,
    loaded,
    store,
    state: loadedState.state,
    loadedText: loadedState.text,
    dryRun: ctx.options.dryRun,
    policy: config.rollover, // the config's rollover section is the policy, field for field
    now: ctx.now,
    provider: () =>
      (provider ??= import('../providers/registry.js').then((m) => m.createProvider({ dns: config.dns, secret: loaded.secret, zones: listConfiguredZones(config), env: ctx.env, log: ctx.log }))),
    resolver: () => (resolver ??= import('../io/resolver.js').then((m) => m.createResolver({ timeoutMs: config.dns.timeout }))),
    nameservers(zone) {
      let p = nsCache.get(zone);
      if (!p) {
        p = (async () => {
          if (config.dns.nameservers !== 'auto') {
            return config.dns.nameservers.map((text) => {
              const hp = parseHostPort(text, config.dns.nameserverPort)!;
              return { ...hp, name: formatHostPort(hp) };
            });
          }
          const r = await s.resolver();
          return r.discoverNameservers(zone, parseHostPort(config.dns.server, 53)!, config.dns.nameserverPort);
        })();
        nsCache.set(zone, p);
      }
      return p;
    },
    entry(id) {
      const e = config.certificates.find((c) => c.id === id);
      if (!e) throw new UsageError(`no certificates[] entry has id "${id}" (configured: ${config.certificates.map((c) => c.id).join(', ')})`);
      return e;
    },
    dkimEntry(id) {
      const e = config.dkim.find((c) => c.id === id);
      if (!e) throw new UsageError(`no dkim[] entry has id "${id}" (configured: ${config.dkim.map((c) => c.id).join(', ') || 'none'})`);
      return e;
    },
    kindOf(id) {
      return config.dkim.some((c) => c.id === id) ? 'dkim' : 'tls';
    },
    entryState(id) {
      const map = s.kindOf(id) === 'dkim' ? s.state.dkim : s.state.certificates;
      return (map[id] ??= emptyEntryState());
    },
    policyFor(id) {
      return s.kindOf(id) === 'dkim' ? { ...s.policy, cleanupDelay: s.dkimEntry(id).retain } : s.policy;
    },
    event(event) {
      if (s.dryRun) return;
      store.appendEvent({ at: s.now().toISOString(), ...event });
    },
    save() {
      if (s.dryRun) return false;
      const written = store.save(s.state, s.loadedText);
      if (written) s.loadedText = JSON.stringify(s.state, null, 2) + '\n';
      return written;
    },
  };
  return s;
}

/** Close a session: release the lock whatever happened. */
export function closeSession(s: Session): void {
  s.store.unlock();
}
