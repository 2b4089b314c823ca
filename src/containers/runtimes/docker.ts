/**
 * The Docker Engine API client, for dockerd and for Podman (which serves the same API on its socket). It uses
 * unversioned paths, which the daemon answers at its own API version:
 *   GET /containers/{id}/json   Name, Image (the image id), Config.Image, Config.Labels; 404: unknown id
 *   GET /images/{id}/json       RepoTags, RepoDigests, Id; 404 when the image is gone
 *   GET /containers/json        the running containers (paused ones included): [{Id}, ...]
 */
import type { Agent } from 'node:http';
import { CONTAINER_ID, LABEL, labels, makeMeta, obj, RuntimeClientBase, str, strings } from './client.js';
import { ResponseError } from './errors.js';
import type { ClientOptions, ContainerMeta, RuntimeClient } from './types.js';
import { httpGet, socketAgent } from './unix-http.js';

export class DockerClient extends RuntimeClientBase implements RuntimeClient {
  private readonly agent: Agent = socketAgent();

  /** `runtime` is 'podman' for a Podman socket. Opening connects nothing yet. */
  constructor(socket: string, opts: ClientOptions & { runtime?: 'docker' | 'podman' } = {}) {
    super(opts.runtime ?? 'docker', socket, opts);
  }

  inspect(id: string, signal?: AbortSignal): Promise<ContainerMeta | undefined> {
    return this.call(`GET /containers/${String(id).slice(0, 80)}/json`, signal, async (s) => {
      this.checkId(id);
      const path = `/containers/${id}/json`;
      const c = await this.getJson(path, s);
      if (c === undefined) return undefined;
      const container = await this.step(`GET ${path}`, s, async () => {
        const top = obj(c, 'the response');
        if (top === undefined) throw new ResponseError('PROTOCOL', 'the response is null');
        const gotId = str(top['Id'], 'Id');
        if (gotId !== id) throw new ResponseError('PROTOCOL', `Id is ${JSON.stringify(gotId.slice(0, 80))}`);
        const config = obj(top['Config'], 'Config');
        return {
          name: str(top['Name'], 'Name').replace(/^\//, ''),
          imageId: str(top['Image'], 'Image'),
          configImage: str(config?.['Image'], 'Config.Image'),
          labels: labels(config?.['Labels'], 'Config.Labels'),
        };
      });
      let image = container.configImage;
      let imageDigest = container.imageId;
      if (container.imageId !== '') {
        const ipath = `/images/${encodeURIComponent(container.imageId)}/json`;
        const i = await this.getJson(ipath, s);
        if (i !== undefined) {
          const img = await this.step(`GET ${ipath}`, s, async () => {
            const top = obj(i, 'the response');
            return {
              tags: strings(top?.['RepoTags'], 'RepoTags'),
              digests: strings(top?.['RepoDigests'], 'RepoDigests'),
              id: str(top?.['Id'], 'Id'),
            };
          });
          image = img.tags[0] ?? image;
          imageDigest = img.digests[0] ?? (img.id || imageDigest);
        }
      }
      return makeMeta(this.runtime, {
        name: container.name,
        image,
        imageDigest,
        podSandbox: container.labels[LABEL.dockerType] === 'sandbox',
        labels: container.labels,
      });
    });
  }

  list(signal?: AbortSignal): Promise<string[]> {
    const path = '/containers/json';
    return this.call(`GET ${path}`, signal, async (s) => {
      const body = await this.getJson(path, s);
      return this.step(`GET ${path}`, s, async () => {
        if (!Array.isArray(body)) throw new ResponseError('PROTOCOL', 'the response is not an array');
        const ids = new Set<string>();
        body.forEach((entry, i) => {
          const id = str(obj(entry, `[${i}]`)?.['Id'], `[${i}].Id`);
          if (CONTAINER_ID.test(id)) ids.add(id);
        });
        return [...ids];
      });
    });
  }

  close(): void {
    this.markClosed();
    this.agent.destroy();
  }

  /** GET `path` and parse its JSON body; undefined on 404; any other status than 200 rejects. */
  private getJson(path: string, signal: AbortSignal): Promise<unknown> {
    return this.step(`GET ${path}`, signal, async () => {
      const res = await httpGet(this.agent, this.socket, path, this.maxResponseBytes, signal);
      if (res.status === 404) return undefined;
      if (res.status !== 200)
        throw new ResponseError('PROTOCOL', `HTTP ${res.status}${errorMessage(res.body)}`);
      try {
        return JSON.parse(res.body.toString('utf8')) as unknown;
      } catch (e) {
        throw new ResponseError('PROTOCOL', `the response is not JSON (${(e as Error).message})`);
      }
    });
  }
}

/** ": message" from a Docker error body `{"message": "..."}`, cut to 200 printable characters, or ''. */
function errorMessage(body: Buffer): string {
  let message: unknown;
  try {
    message = (JSON.parse(body.subarray(0, 64 * 1024).toString('utf8')) as { message?: unknown }).message;
  } catch {
    return '';
  }
  if (typeof message !== 'string' || message === '') return '';
  return `: ${message.replace(/[^\x20-\x7e]/g, '?').slice(0, 200)}`;
}
