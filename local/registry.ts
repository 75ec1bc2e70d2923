/**
 * docker-registry (the CNCF Distribution registry, Debian package `docker-registry`) on loopback, with a
 * configuration of our own: the Debian default turns on htpasswd auth and listens on every interface.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ManagedProcess, requireTool, startProcess } from './processes';

export interface RegistryOptions {
  port: number;
  /** Holds the registry's storage and its config file. */
  dir: string;
  host?: string;
  /** Answer with a Bearer challenge pointing at `realm` (Distribution's "silly" auth: any token passes). */
  bearer?: { realm: string; service: string };
  /**
   * Run as a pull-through cache (a mirror) of the registry at this URL: the first pull of a blob or
   * manifest is fetched from there and kept, later ones are served from the mirror's storage.
   */
  proxy?: { remoteUrl: string };
}

export interface Registry {
  url: string;
  port: number;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startRegistry(options: RegistryOptions): Promise<Registry> {
  const command = requireTool('docker-registry', 'docker-registry');
  const host = options.host ?? '127.0.0.1';
  const storage = join(options.dir, 'storage');
  mkdirSync(storage, { recursive: true });
  const lines = [
    'version: 0.1',
    'log:',
    '  level: warn',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    // Serve blobs itself rather than redirecting to a storage backend.
    '  redirect:',
    '    disable: true',
    'http:',
    `  addr: ${host}:${options.port}`,
  ];
  if (options.proxy) lines.push('proxy:', `  remoteurl: ${options.proxy.remoteUrl}`);
  if (options.bearer) lines.push('auth:', '  silly:', `    realm: ${options.bearer.realm}`, `    service: ${options.bearer.service}`);
  const configFile = join(options.dir, 'config.yml');
  writeFileSync(configFile, `${lines.join('\n')}\n`);
  const proc = await startProcess({ name: 'docker-registry', command, args: ['serve', configFile], listen: { host, port: options.port } });
  return { url: `http://${host}:${options.port}`, port: options.port, process: proc, stop: () => proc.stop() };
}
