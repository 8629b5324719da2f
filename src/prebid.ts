// `segtag/prebid`: segments as OpenRTB first-party data for Prebid.js.
export {
  applyPrebid,
  toOrtb2,
  type Ortb2Fragment,
  type Ortb2Options,
  type OrtbData,
  type PbjsLike,
  type PrebidOptions,
} from './integrations/prebid';
