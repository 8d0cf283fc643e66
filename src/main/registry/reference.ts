// Image references exactly as users type them (Docker's grammar), plus the `docker://` and `oci:` transports.

import { UsageError } from '../errors.js';

export const DOCKER_HUB = 'docker.io';
/** Docker Hub's API lives on another host than its name. */
export const DOCKER_HUB_API = 'registry-1.docker.io';

/** A registry host plus a repository in it: what blob and manifest URLs need. */
export interface RepoRef {
  /** Registry as users name it: `docker.io`, `localhost:5000`, `[::1]:5000`, `ghcr.io`. */
  registry: string;
  /** Full repository path, `library/` included for Docker Hub official images. */
  repository: string;
}

export interface RemoteReference extends RepoRef {
  transport: 'docker';
  tag?: string;
  digest?: string;
}

export interface OciLayoutReference {
  transport: 'oci';
  /** Directory of the OCI image layout. */
  path: string;
  /** `org.opencontainers.image.ref.name` to pick from index.json; absent = the only manifest. */
  tag?: string;
}

export type Reference = RemoteReference | OciLayoutReference;

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]{1,5})?$/;

/** Parse `docker://REF`, `oci:PATH[:TAG]` or a bare Docker reference. */
export function parseReference(input: string): Reference {
  if (input.startsWith('oci:')) return parseOciLayoutReference(input.slice(4), input);
  if (input.startsWith('docker://')) return parseDockerReference(input.slice('docker://'.length), input);
  const m = /^([a-z][a-z0-9+.-]*):\/\//i.exec(input);
  if (m) throw new UsageError(`unsupported transport "${m[1]}://" in "${input}": use docker://REF or oci:PATH[:TAG]`);
  return parseDockerReference(input, input);
}

/** Parse a registry reference (no transport prefix): `ubuntu`, `host:port/a/b:tag`, `name@sha256:...`. */
export function parseDockerReference(ref: string, original = ref): RemoteReference {
  const bad = (why: string): UsageError => new UsageError(`invalid image reference "${original}": ${why}`);
  if (ref === '') throw bad('it is empty');
  if (ref.length > 4096) throw bad('it is too long');
  if (/\s/.test(ref)) throw bad('it contains whitespace');
  let rest = ref;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw bad(`"${digest}" is not a digest (expected sha256:<64 hex>)`);
    if (digest.startsWith('sha256:') && !SHA256_RE.test(digest)) {
      throw bad(`"${digest}" is not a sha256 digest (expected 64 lowercase hex characters)`);
    }
    if (!digest.startsWith('sha256:')) throw bad(`digest algorithm "${digest.split(':')[0]}" is not supported (only sha256)`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.indexOf(':', lastSlash + 1);
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(`"${tag}" is not a valid tag (letters, digits, "_", "." and "-", at most 128, not starting with "." or "-")`);
  }
  if (rest === '') throw bad('the repository name is missing');
  let registry = DOCKER_HUB;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    // Docker's rule: the first component is a host when it has a "." or ":", or is "localhost".
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first.startsWith('[')) {
      registry = first;
      path = rest.slice(slash + 1);
      if (!HOST_RE.test(registry)) throw bad(`"${registry}" is not a valid registry host[:port]`);
      const port = /:(\d+)$/.exec(registry);
      if (port && Number(port[1]) > 65535) throw bad(`port ${port[1]} is out of range`);
    }
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (path === '') throw bad('the repository name is missing');
  for (const c of path.split('/')) {
    if (c === '') throw bad('the repository path has an empty component');
    if (!PATH_COMPONENT_RE.test(c)) {
      const hint = /[A-Z]/.test(c) ? ' (repository names must be lowercase)' : '';
      throw bad(`"${c}" is not a valid repository path component${hint}`);
    }
  }
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (registry.length + 1 + path.length > 255) throw bad('the repository name is longer than 255 characters');
  if (tag === undefined && digest === undefined) tag = 'latest';
  const out: RemoteReference = { transport: 'docker', registry, repository: path };
  if (tag !== undefined) out.tag = tag;
  if (digest !== undefined) out.digest = digest;
  return out;
}

function parseOciLayoutReference(rest: string, original: string): OciLayoutReference {
  if (rest === '') throw new UsageError(`invalid image reference "${original}": oci: needs a directory, as in oci:./dir[:tag]`);
  // A tag follows the last ":" only when no "/" comes after it (paths may contain ":").
  const colon = rest.lastIndexOf(':');
  if (colon > 0 && !rest.slice(colon + 1).includes('/')) {
    const tag = rest.slice(colon + 1);
    const path = rest.slice(0, colon);
    if (tag === '') throw new UsageError(`invalid image reference "${original}": the tag after ":" is empty`);
    if (!/^[A-Za-z0-9._:@/+-]+$/.test(tag)) throw new UsageError(`invalid image reference "${original}": "${tag}" is not a valid OCI layout ref name`);
    return { transport: 'oci', path, tag };
  }
  return { transport: 'oci', path: rest };
}

/** Canonical text of a reference: `docker.io/library/ubuntu:latest`, `oci:/dir:tag`. */
export function formatReference(ref: Reference): string {
  if (ref.transport === 'oci') return `oci:${ref.path}${ref.tag !== undefined ? `:${ref.tag}` : ''}`;
  return `${ref.registry}/${ref.repository}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** `host:port/repo`, for messages. */
export function formatRepo(repo: RepoRef): string {
  return `${repo.registry}/${repo.repository}`;
}

/** True for registries that speak plain HTTP by default (loopback). */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registryHostname(registry);
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Hostname without port or IPv6 brackets. */
export function registryHostname(registry: string): string {
  if (registry.startsWith('[')) return registry.slice(1, registry.indexOf(']'));
  const colon = registry.lastIndexOf(':');
  return colon >= 0 ? registry.slice(0, colon) : registry;
}

export interface EndpointOptions {
  /** Speak plain HTTP to these registries (loopback always does). true = all. */
  plainHttp?: boolean | readonly string[];
  /** Skip TLS certificate verification for these registries. true = all. */
  insecure?: boolean | readonly string[];
}

export interface Endpoint {
  /** `https://registry-1.docker.io`, `http://127.0.0.1:5000`. */
  origin: string;
  /** Skip TLS verification. */
  insecure: boolean;
}

/** Where a registry's API answers, honouring Docker Hub's API host and loopback-is-HTTP. */
export function registryEndpoint(registry: string, opts: EndpointOptions = {}): Endpoint {
  const matches = (o: boolean | readonly string[] | undefined): boolean => o === true || (Array.isArray(o) && o.includes(registry));
  const host = registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
  const http = matches(opts.plainHttp) || isLoopbackRegistry(registry);
  return { origin: `${http ? 'http' : 'https'}://${host}`, insecure: matches(opts.insecure) };
}
