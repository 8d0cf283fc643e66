// A synthetic TOC of N entries shaped like a real layer (a directory per 1000 entries, small regular
// files with digests, offsets 64 bytes apart), written straight to JSON text for parse benchmarks and
// the "10^6 entries in bounded time" test.

export interface SyntheticToc {
  json: string;
  tocOffset: number;
  files: number;
  dirs: number;
}

export function syntheticToc(n: number): SyntheticToc {
  const parts: string[] = ['{"version":1,"entries":['];
  const digest = `sha256:${'ab'.repeat(32)}`;
  let offset = 64;
  let files = 0;
  let dirs = 0;
  let dir = '';
  for (let i = 0; i < n; i++) {
    const sep = i === 0 ? '' : ',';
    if (i % 1000 === 0) {
      dir = `usr/share/d${i / 1000}`;
      parts.push(`${sep}{"name":"${dir}/","type":"dir","mode":493,"modtime":"2023-01-02T03:04:05Z"}`);
      dirs++;
      continue;
    }
    parts.push(
      `${sep}{"name":"${dir}/file-${i}.txt","type":"reg","size":100,"mode":420,"modtime":"2023-01-02T03:04:05Z",` +
        `"offset":${offset},"digest":"${digest}","chunkDigest":"${digest}"}`,
    );
    offset += 64;
    files++;
  }
  parts.push(']}');
  return { json: parts.join(''), tocOffset: offset, files, dirs };
}
