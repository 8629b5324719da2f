/** A plain JSON object: not null, not an array. The one check both the SDK and the server use. */
export const isObject = (x: unknown): x is Record<string, any> => !!x && typeof x == 'object' && !Array.isArray(x);
