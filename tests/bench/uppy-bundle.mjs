// Uppy for the benches, as a site would ship it: the bench's pinned npm packages
// (bench/package.json, uppy5/, uppy6/) installed on first use, each version's entry
// bundled by esbuild into one script to add to a page.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

/** Installs the bench's packages if needed; the bundle of each of `versions` ('uppy5', 'uppy6'). */
export async function uppyBundles(versions) {
  if (versions.length === 0) return {};
  for (const dir of [HERE, join(HERE, 'uppy5'), join(HERE, 'uppy6')]) {
    if (!existsSync(join(dir, 'node_modules'))) execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
  }
  const { build } = await import('esbuild');
  const bundles = {};
  for (const v of versions) {
    const out = await build({ entryPoints: [join(HERE, v, 'entry.js')], bundle: true, format: 'iife', minify: true, write: false });
    bundles[v] = out.outputFiles[0].text;
  }
  return bundles;
}
