/**
 * Fires a pixel as an image (no iframe, no script): resolves true when it loaded,
 * false on error. `hideReferrer` sends no Referer header.
 */
export const fire = (url: string, hideReferrer: boolean): Promise<boolean> =>
  new Promise((resolve) => {
    const img = new Image();
    if (hideReferrer) img.referrerPolicy = 'no-referrer';
    img.onload = img.onerror = (e) => resolve((e as Event).type == 'load');
    img.src = url;
  });
