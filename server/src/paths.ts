/**
 * Where the server finds the files it hands out and its defaults, wherever npm installed it:
 * - its own examples (the demo page, the example rules) relative to the segtag-server package;
 * - the SDK's build through Node's module resolution: the `segtag` package's dist/ folder, and
 *   js-cookie resolved from the segtag package (it is segtag's dependency, so npm may have put it
 *   next to segtag rather than next to the server).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The segtag-server package directory: one level above this module, for the source
 * (src/paths.ts) and for the bundle (dist/cli.mjs) alike, as every bundled module's
 * import.meta.url is the bundle's. So this file stays directly in src/.
 */
export const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));
export const EXAMPLE_RULES = join(PACKAGE_DIR, 'examples', 'segments.json');
export const DEMO_PAGE = join(PACKAGE_DIR, 'examples', 'demo.html');

export interface SdkFiles {
  /** The segtag package's build output; undefined when the package cannot be found. */
  distDir?: string;
  /** js-cookie's ES module, which the demo's import map points at. */
  jsCookie?: string;
}

/** Finds the SDK files from `from` (a module URL or path), as `import 'segtag'` there would. */
export function findSdkFiles(from: string = import.meta.url): SdkFiles {
  let segtagPackageJson: string;
  try {
    segtagPackageJson = createRequire(from).resolve('segtag/package.json');
  } catch {
    return {};
  }
  const files: SdkFiles = { distDir: join(dirname(segtagPackageJson), 'dist') };
  try {
    files.jsCookie = join(
      dirname(createRequire(segtagPackageJson).resolve('js-cookie/package.json')),
      'dist',
      'js.cookie.mjs',
    );
  } catch {
    // Served as not found; the script-tag build (segtag.min.js) does not need it.
  }
  return files;
}
