/**
 * Where the server finds the files it hands out and its defaults, wherever npm installed it:
 * - its own examples (the demo page, the example rules) relative to the segtag-server package;
 * - the SDK's build through Node's module resolution: the `segtag` package's dist/ folder, which
 *   holds everything the demo loads (the npm build bundles the part of js-cookie it uses as
 *   dist/lib/vendor/js-cookie.mjs).
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
}

/** Finds the SDK files from `from` (a module URL or path), as `import 'segtag'` there would. */
export function findSdkFiles(from: string = import.meta.url): SdkFiles {
  let segtagPackageJson: string;
  try {
    segtagPackageJson = createRequire(from).resolve('segtag/package.json');
  } catch {
    return {};
  }
  return { distDir: join(dirname(segtagPackageJson), 'dist') };
}
