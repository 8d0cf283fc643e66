// Platforms as OCI spells them (GOOS/GOARCH[/variant]) and how node names this host.

import { UsageError } from '../errors.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH: Record<string, string> = {
  x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64',
  mips: 'mips', mipsel: 'mipsle', loong64: 'loong64',
};
const OS: Record<string, string> = { win32: 'windows', sunos: 'solaris' };

/** This host's platform in OCI terms (node's process.arch/platform mapped to GOARCH/GOOS). */
export function hostPlatform(): Platform {
  const architecture = ARCH[process.arch] ?? process.arch;
  const os = OS[process.platform] ?? process.platform;
  const p: Platform = { os, architecture };
  if (architecture === 'arm64') p.variant = 'v8';
  if (architecture === 'arm') {
    const v = (process.config.variables as unknown as Record<string, unknown>)['arm_version'];
    p.variant = `v${typeof v === 'string' || typeof v === 'number' ? v : '7'}`;
  }
  return p;
}

/** Parse `os/arch[/variant]`, e.g. `linux/arm64/v8`. */
export function parsePlatform(s: string): Platform {
  const parts = s.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new UsageError(`invalid platform "${s}": expected os/arch[/variant], e.g. linux/amd64 or linux/arm64/v8`);
  }
  const p: Platform = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2] !== undefined) p.variant = parts[2];
  return p;
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/** Does an index entry's platform satisfy the wanted one? A missing variant on either side matches
 *  (arm64 images rarely say v8), except that an explicit wanted variant must equal an explicit offered one. */
export function platformMatches(wanted: Platform, offered: Platform): boolean {
  if (wanted.os !== offered.os || wanted.architecture !== offered.architecture) return false;
  if (wanted.variant && offered.variant) return normVariant(wanted) === normVariant(offered);
  return true;
}

function normVariant(p: Platform): string | undefined {
  // arm64 "v8" and no variant mean the same thing.
  if (p.architecture === 'arm64' && p.variant === 'v8') return 'v8';
  return p.variant;
}
