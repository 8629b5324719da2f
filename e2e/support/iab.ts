import { nodeResolve } from '@rollup/plugin-node-resolve';
import { GVL, TCModel, TCString } from '@iabtechlabtcf/core';
import { readFileSync } from 'node:fs';
import { rollup } from 'rollup';

/**
 * The real IAB libraries a CMP runs, for test pages: @iabtechlabtcf/cmpapi (serves
 * `__tcfapi`) and @iabgpp/cmpapi (serves `__gpp`), bundled once for the browser as
 * `window.IAB = { TcfCmpApi, GppCmpApi }`; and @iabtechlabtcf/stub, the queueing stub
 * a publisher puts first on the page.
 */
let bundle: Promise<string> | undefined;
export function iabBundle() {
  bundle ??= (async () => {
    const entry = `import { CmpApi as TcfCmpApi } from '@iabtechlabtcf/cmpapi';
      import { CmpApi as GppCmpApi } from '@iabgpp/cmpapi';
      window.IAB = { TcfCmpApi, GppCmpApi };`;
    const build = await rollup({
      input: 'iab-entry',
      plugins: [
        {
          name: 'entry',
          resolveId: (id) => (id == 'iab-entry' ? id : null),
          load: (id) => (id == 'iab-entry' ? entry : null),
        },
        nodeResolve({ browser: true }),
      ],
      onwarn: () => {},
    });
    const { output } = await build.generate({ format: 'iife' });
    await build.close();
    return output[0].code;
  })();
  return bundle;
}

export const TCF_STUB = readFileSync('node_modules/@iabtechlabtcf/stub/lib/stub.js', 'utf8');

/** Our vendor id in the tests, and another vendor's. */
export const VENDOR = 755;
export const OTHER_VENDOR = 42;

// A minimal Global Vendor List, built here: tests never fetch the real one.
const vendor = (id: number) => ({
  id,
  name: 'vendor ' + id,
  purposes: [1, 3, 4],
  legIntPurposes: [],
  flexiblePurposes: [],
  specialPurposes: [],
  features: [],
  specialFeatures: [],
  policyUrl: 'https://vendor.example/privacy',
});
const gvl = () =>
  new GVL({
    gvlSpecificationVersion: 3,
    vendorListVersion: 1,
    tcfPolicyVersion: 5,
    lastUpdated: '2026-01-01T00:00:00Z',
    purposes: Object.fromEntries(
      [...Array(11)].map((_, i) => [
        i + 1,
        { id: i + 1, name: 'purpose ' + (i + 1), description: '', illustrations: [] },
      ]),
    ),
    specialPurposes: {},
    features: {},
    specialFeatures: {},
    stacks: {},
    vendors: { [VENDOR]: vendor(VENDOR), [OTHER_VENDOR]: vendor(OTHER_VENDOR) },
  } as any);

/** A real TC string (encoded by @iabtechlabtcf/core) with the given purpose and vendor consents. */
export function tcString({
  purposes = [1, 3, 4],
  vendors = [VENDOR],
}: { purposes?: number[]; vendors?: number[] } = {}) {
  const model = new TCModel(gvl());
  model.cmpId = 10;
  model.cmpVersion = 1;
  model.isServiceSpecific = true;
  model.purposeConsents.set(purposes);
  model.vendorConsents.set(vendors);
  return TCString.encode(model);
}
