// `segtag/ad-server`: segments as ad-server URL parameters (GAM `cust_params`, `;key=value`, query).
export { toAdServerParams, type AdServerOptions, type AdServerStyle } from './integrations/ad-server';
