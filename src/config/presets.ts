// Service presets (`preset: postfix | dovecot | nginx | apache`): Debian's conventional install
// form, reload command and ports. Every key the entry sets itself wins (install key by key).

export type PresetName = 'postfix' | 'dovecot' | 'nginx' | 'apache';

interface Preset {
  ports: number[];
  reload: string[];
  /** Install paths; "{id}" is replaced by the entry's id. */
  install: Partial<Record<'certificate' | 'chain' | 'fullchain' | 'key' | 'combined', string>>;
}

export const PRESETS: Record<PresetName, Preset> = {
  // postfix ≥ 3.4 reads key and chain from one file (smtpd_tls_chain_files), swapped atomically.
  postfix: { ports: [25, 465, 587], reload: ['postfix', 'reload'], install: { combined: '/etc/postfix/danehook/{id}.pem' } },
  // dovecot: ssl_cert = </etc/dovecot/private/danehook/{id}.fullchain.pem, ssl_key = <...key.pem
  dovecot: {
    ports: [993, 995, 143, 110],
    reload: ['doveadm', 'reload'],
    install: { fullchain: '/etc/dovecot/private/danehook/{id}.fullchain.pem', key: '/etc/dovecot/private/danehook/{id}.key.pem' },
  },
  nginx: {
    ports: [443],
    reload: ['nginx', '-s', 'reload'],
    install: { fullchain: '/etc/nginx/danehook/{id}.fullchain.pem', key: '/etc/nginx/danehook/{id}.key.pem' },
  },
  // apache ≥ 2.4.8 takes the full chain in SSLCertificateFile; graceful keeps open connections.
  apache: {
    ports: [443],
    reload: ['apachectl', 'graceful'],
    install: { fullchain: '/etc/apache2/danehook/{id}.fullchain.pem', key: '/etc/apache2/danehook/{id}.key.pem' },
  },
};

interface EntryInput {
  id: string;
  preset?: PresetName;
  ports?: number[];
  reload?: string[];
  install?: Record<string, unknown>;
}

/** Fill what the entry leaves out from its preset (pure; the schema calls this). */
export function applyPreset<E extends EntryInput>(entry: E): E {
  if (!entry.preset) return entry;
  const p = PRESETS[entry.preset];
  const install = Object.fromEntries(Object.entries(p.install).map(([k, v]) => [k, v.replace('{id}', entry.id)]));
  return {
    ...entry,
    ports: entry.ports ?? p.ports,
    reload: entry.reload ?? p.reload,
    install: { ...install, ...(entry.install ?? {}) },
  };
}
